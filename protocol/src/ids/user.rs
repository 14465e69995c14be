use super::{IdError, NodeName, split_qualified, text_identifier};

/// A user: `@name:node`, where `name` is 3–32 characters of `a-z 0-9 _ . -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String, NodeName);

text_identifier!(UserId);

impl UserId {
    /// Parses `@name:node`.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let (local, node) = split_qualified(input, '@')?;
        check_user_name(local)?;
        Ok(Self(input.to_owned(), node))
    }

    /// Builds the id of user `name` on `node`.
    pub fn new(name: &str, node: &NodeName) -> Result<Self, IdError> {
        Self::parse(&format!("@{name}:{node}"))
    }

    /// The user name (the part between `@` and `:`).
    pub fn name(&self) -> &str {
        let end = self.0.find(':').unwrap_or(self.0.len());
        &self.0[1..end]
    }

    /// The node that hosts the user.
    pub fn node(&self) -> &NodeName {
        &self.1
    }
}

/// Checks the user name rules shared by registration and parsing.
pub fn check_user_name(name: &str) -> Result<(), IdError> {
    let ok = (3..=32).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(IdError::InvalidUserName)
    }
}
