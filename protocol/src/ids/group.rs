use super::{IdError, NodeName, split_qualified, text_identifier};

/// A group (a DM is a group too): `!<random>:home-node`, where the random part is 6–32
/// characters of `a-z 0-9`, chosen by the home node.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(String, NodeName);

text_identifier!(GroupId);

impl GroupId {
    /// Parses `!local:node`.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let (local, node) = split_qualified(input, '!')?;
        let ok = (6..=32).contains(&local.len())
            && local
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !ok {
            return Err(IdError::InvalidGroupLocal);
        }
        Ok(Self(input.to_owned(), node))
    }

    /// Builds a group id from a random local part and the home node.
    pub fn new(local: &str, home: &NodeName) -> Result<Self, IdError> {
        Self::parse(&format!("!{local}:{home}"))
    }

    /// The group's home node: the only node that sequences and signs its log.
    pub fn home(&self) -> &NodeName {
        &self.1
    }
}
