use serde::{Deserialize, Serialize};

use super::{IdError, NodeName};

/// A piece of media: the node that stores it and the SHA-256 of its bytes.
///
/// On the wire it is a map `{"node": tstr, "sha256": bstr .size 32}`; its text form, used in
/// URLs, is `node/<64 lowercase hex digits>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MediaId {
    /// The node that stores the bytes.
    pub node: NodeName,
    /// SHA-256 of the bytes.
    #[serde(with = "sha256_bytes")]
    pub sha256: [u8; 32],
}

impl MediaId {
    /// Parses the text form `node/hex`.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let (node, hex) = input.rsplit_once('/').ok_or(IdError::InvalidMediaId)?;
        let node = NodeName::parse(node)?;
        if hex.len() != 64 {
            return Err(IdError::InvalidMediaId);
        }
        let mut sha256 = [0u8; 32];
        for (byte, pair) in sha256.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            let digit = |c: u8| match c {
                b'0'..=b'9' => Ok(c - b'0'),
                b'a'..=b'f' => Ok(c - b'a' + 10),
                _ => Err(IdError::InvalidMediaId),
            };
            *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
        }
        Ok(Self { node, sha256 })
    }
}

impl core::fmt::Display for MediaId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/", self.node)?;
        self.sha256.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl core::str::FromStr for MediaId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

/// Serde for a fixed 32-byte array as a CBOR byte string (serde's default is an array).
pub(crate) mod sha256_bytes {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        crate::codec::bytes_n::<32, D>(d)
    }
}
