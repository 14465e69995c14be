use super::{IdError, NodeName, split_qualified, text_identifier};

/// A public group handle: `#handle:node`, unique per node; `handle` matches
/// `^[_a-z][_a-z0-9]{2,50}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(String, NodeName);

text_identifier!(Handle);

impl Handle {
    /// Parses `#handle:node`.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let (local, node) = split_qualified(input, '#')?;
        check_handle_name(local)?;
        Ok(Self(input.to_owned(), node))
    }

    /// Builds `#name:node`.
    pub fn new(name: &str, node: &NodeName) -> Result<Self, IdError> {
        Self::parse(&format!("#{name}:{node}"))
    }

    /// The handle without sigil and node.
    pub fn name(&self) -> &str {
        let end = self.0.find(':').unwrap_or(self.0.len());
        &self.0[1..end]
    }

    /// The node on which the handle is unique.
    pub fn node(&self) -> &NodeName {
        &self.1
    }
}

/// Checks `^[_a-z][_a-z0-9]{2,50}$`.
pub fn check_handle_name(name: &str) -> Result<(), IdError> {
    let bytes = name.as_bytes();
    let ok = (3..=51).contains(&bytes.len())
        && bytes
            .first()
            .is_some_and(|b| *b == b'_' || b.is_ascii_lowercase())
        && bytes
            .iter()
            .all(|b| *b == b'_' || b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(IdError::InvalidHandle)
    }
}
