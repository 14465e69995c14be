/// Bounds applied to every decoded frame, checked before anything is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole frame, in bytes.
    pub max_frame: usize,
    /// Deepest nesting of arrays and maps (the top-level item is depth 1).
    pub max_depth: usize,
    /// Most entries in one array or map.
    pub max_items: usize,
    /// Longest text or byte string, in bytes.
    pub max_string: usize,
    /// Whether every map key must be a text string. True for every message; only the COSE
    /// protected header (integer labels) has other keys. Text keys also stop serde from
    /// matching an integer key to a struct field by position.
    pub text_keys: bool,
}

impl Limits {
    /// A WebSocket frame from a browser (spec: "Limits").
    pub const CLIENT_FRAME: Limits = Limits {
        max_frame: 64 * 1024,
        max_depth: 16,
        max_items: 1024,
        max_string: 64 * 1024,
        text_keys: true,
    };

    /// A signed event, wherever it travels.
    pub const EVENT: Limits = Limits {
        max_frame: 64 * 1024,
        max_depth: 16,
        max_items: 1024,
        max_string: 64 * 1024,
        text_keys: true,
    };

    /// A federation request or response on one QUIC stream; it may carry a batch of events.
    pub const FEDERATION_FRAME: Limits = Limits {
        max_frame: 4 * 1024 * 1024,
        max_depth: 16,
        max_items: 4096,
        max_string: 1024 * 1024,
        text_keys: true,
    };

    /// A COSE protected header: one small map.
    pub const PROTECTED_HEADER: Limits = Limits {
        max_frame: 512,
        max_depth: 2,
        max_items: 8,
        max_string: 256,
        text_keys: false,
    };
}
