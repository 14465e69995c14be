//! A push encoded once for all its recipients.
//!
//! A push frame is `{t: "push", event, data, cursor}`, and only the cursor differs between the
//! recipients (each user has their own sequence). The frame is encoded once with an empty
//! cursor, which the encoder writes last, as the single byte `0x60`; dropping that byte leaves
//! a prefix every recipient shares, and a recipient's frame is that prefix followed by their
//! cursor as a CBOR text string — byte for byte what encoding the whole frame would give,
//! since every head is in its shortest form.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use ciborium::Value;
use winichat_protocol::client::{Push, ServerFrame};
use winichat_protocol::codec::EncodeError;
use winichat_protocol::gateway::MAX_FRAME;

/// How the encoder ends a push frame with an empty cursor: the key `cursor`, then `""`.
const EMPTY_CURSOR_TAIL: &[u8] = b"\x66cursor\x60";
/// Room left in a frame for any cursor: a text head (at most 9 bytes) and the cursor itself,
/// which is `<boot>.<seq>` (12 characters, a dot, at most 20 digits).
const CURSOR_ROOM: usize = 9 + 12 + 1 + 20;

/// One encoded push, shared (by `Arc`) between the resume windows and send queues of every
/// recipient. Its bytes are counted in the hub's `live` figure while it exists.
#[derive(Debug)]
pub struct PushBody {
    prefix: Bytes,
    /// The push's place in the node's order of pushes, for cutting windows oldest first.
    pub(super) generation: u64,
    live: Arc<AtomicUsize>,
    /// How many resume windows hold this push (changed only under the hub's lock), so the
    /// hub counts its bytes once while any window holds it.
    pub(super) windows: AtomicUsize,
}

/// Why a push could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The frame does not encode (a value outside the CBOR subset, or too large).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The frame with a cursor would exceed the 64 KiB frame limit.
    #[error("a push of {0} bytes leaves no room for its cursor")]
    TooLarge(usize),
    /// The encoder did not write the cursor last (a change of the frame's field order).
    #[error("the encoded push does not end with its cursor")]
    Layout,
}

impl PushBody {
    /// Encodes `event` with `data` once; the bytes are added to `live` until the body is
    /// dropped.
    pub fn encode(
        event: &str,
        data: &Value,
        generation: u64,
        live: &Arc<AtomicUsize>,
    ) -> Result<PushBody, PushError> {
        let frame = ServerFrame::Push(Push {
            event: event.to_owned(),
            data: data.clone(),
            cursor: Some(String::new()),
        });
        let mut bytes = frame.encode()?;
        if !bytes.ends_with(EMPTY_CURSOR_TAIL) {
            return Err(PushError::Layout);
        }
        bytes.pop();
        if bytes.len() + CURSOR_ROOM > MAX_FRAME {
            return Err(PushError::TooLarge(bytes.len()));
        }
        live.fetch_add(bytes.len(), Ordering::Relaxed);
        Ok(PushBody {
            prefix: Bytes::from(bytes),
            generation,
            live: Arc::clone(live),
            windows: AtomicUsize::new(0),
        })
    }

    /// The bytes this body holds.
    pub fn size(&self) -> usize {
        self.prefix.len()
    }

    /// The whole frame for one recipient: the shared prefix and `cursor`.
    pub fn frame(&self, cursor: &str) -> Bytes {
        let mut out = Vec::with_capacity(self.prefix.len() + 9 + cursor.len());
        out.extend_from_slice(&self.prefix);
        text_head(&mut out, cursor.len());
        out.extend_from_slice(cursor.as_bytes());
        Bytes::from(out)
    }
}

impl Drop for PushBody {
    fn drop(&mut self) {
        self.live.fetch_sub(self.prefix.len(), Ordering::Relaxed);
    }
}

/// Writes the shortest CBOR head of a text string of `len` bytes (major type 3).
fn text_head(out: &mut Vec<u8>, len: usize) {
    const TEXT: u8 = 3 << 5;
    let len = len as u64;
    if len < 24 {
        out.push(TEXT | len as u8);
    } else if let Ok(n) = u8::try_from(len) {
        out.extend_from_slice(&[TEXT | 24, n]);
    } else if let Ok(n) = u16::try_from(len) {
        out.push(TEXT | 25);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(len) {
        out.push(TEXT | 26);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(TEXT | 27);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// A push waiting in a connection's send queue: the shared body and this user's cursor. Its
/// frame's bytes count in the queue's total (`queued`) until it is dropped (sent or discarded).
#[derive(Debug)]
pub struct QueuedPush {
    body: Arc<PushBody>,
    cursor: String,
    queued: Arc<AtomicUsize>,
}

impl QueuedPush {
    /// Queues a push; `queued` is the connection's count of queued bytes, which it joins.
    pub(super) fn new(body: Arc<PushBody>, cursor: String, queued: &Arc<AtomicUsize>) -> Self {
        let push = QueuedPush {
            body,
            cursor,
            queued: Arc::clone(queued),
        };
        queued.fetch_add(push.bytes(), Ordering::Relaxed);
        push
    }

    /// The bytes of the frame this push sends.
    fn bytes(&self) -> usize {
        self.body.size() + 9 + self.cursor.len()
    }

    /// The frame to send.
    pub fn frame(&self) -> Bytes {
        self.body.frame(&self.cursor)
    }
}

impl Drop for QueuedPush {
    fn drop(&mut self) {
        self.queued.fetch_sub(self.bytes(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(text: &str) -> Value {
        Value::Map(vec![(Value::from("text"), Value::from(text))])
    }

    #[test]
    fn a_spliced_frame_is_the_frame_encoded_whole() {
        let live = Arc::new(AtomicUsize::new(0));
        for text in ["", "hi", &"é".repeat(300), &"x".repeat(20_000)] {
            let body = PushBody::encode("chat.event", &data(text), 1, &live).expect("encodes");
            for cursor in [
                "",
                "a",
                "AAAAAAAAAAAA.1",
                "AAAAAAAAAAAA.18446744073709551615",
            ] {
                let whole = ServerFrame::Push(Push {
                    event: "chat.event".to_owned(),
                    data: data(text),
                    cursor: Some(cursor.to_owned()),
                })
                .encode()
                .expect("encodes");
                assert_eq!(body.frame(cursor).as_ref(), whole.as_slice(), "{cursor:?}");
            }
        }
    }

    #[test]
    fn live_bytes_follow_the_bodies() {
        let live = Arc::new(AtomicUsize::new(0));
        let a = PushBody::encode("profile", &data("a"), 1, &live).expect("encodes");
        let b = Arc::new(PushBody::encode("profile", &data("bb"), 2, &live).expect("encodes"));
        let shared = Arc::clone(&b);
        assert_eq!(live.load(Ordering::Relaxed), a.size() + b.size());
        drop(a);
        drop(b);
        assert_eq!(live.load(Ordering::Relaxed), shared.size(), "still shared");
        drop(shared);
        assert_eq!(live.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_push_without_room_for_its_cursor_is_refused() {
        let live = Arc::new(AtomicUsize::new(0));
        let big = data(&"x".repeat(MAX_FRAME - 40));
        assert!(PushBody::encode("chat.event", &big, 1, &live).is_err());
        assert_eq!(live.load(Ordering::Relaxed), 0);
    }
}
