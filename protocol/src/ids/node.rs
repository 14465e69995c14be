use std::net::{Ipv4Addr, Ipv6Addr};

use super::{IdError, MAX_ID_LEN, text_identifier};

/// A node's name: a lowercase DNS name, an IPv4 address or a bracketed IPv6 address, with an
/// optional port (`chat.example.org`, `127.0.0.1:7801`, `[::1]:7801`).
///
/// Names are compared as text, so they are kept in one canonical form: lowercase, no trailing
/// dot, no leading zeros in the port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeName(String);

text_identifier!(NodeName);

impl NodeName {
    /// Parses a node name.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        if input.len() > MAX_ID_LEN {
            return Err(IdError::TooLong { max: MAX_ID_LEN });
        }
        let (host, port) = split_port(input)?;
        if let Some(v6) = host.strip_prefix('[') {
            let inner = v6
                .strip_suffix(']')
                .ok_or(IdError::InvalidNode("unclosed '['"))?;
            let addr: Ipv6Addr = inner
                .parse()
                .map_err(|_| IdError::InvalidNode("bad IPv6 address"))?;
            // Only the compressed lowercase form is canonical.
            if addr.to_string() != inner {
                return Err(IdError::InvalidNode("IPv6 address not in canonical form"));
            }
        } else if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            let addr: Ipv4Addr = host
                .parse()
                .map_err(|_| IdError::InvalidNode("bad IPv4 address"))?;
            if addr.to_string() != host {
                return Err(IdError::InvalidNode("IPv4 address not in canonical form"));
            }
        } else {
            check_dns_name(host)?;
        }
        if let Some(port) = port {
            check_port(port)?;
        }
        Ok(Self(input.to_owned()))
    }

    /// The host part, without the port (IPv6 keeps its brackets).
    pub fn host(&self) -> &str {
        split_port(&self.0).map(|(h, _)| h).unwrap_or(&self.0)
    }

    /// The explicit port, if the name has one.
    pub fn port(&self) -> Option<u16> {
        split_port(&self.0)
            .ok()
            .and_then(|(_, p)| p)
            .and_then(|p| p.parse().ok())
    }
}

fn split_port(input: &str) -> Result<(&str, Option<&str>), IdError> {
    if input.starts_with('[') {
        return match input.rfind(']') {
            Some(end) => match &input[end + 1..] {
                "" => Ok((input, None)),
                rest => rest
                    .strip_prefix(':')
                    .map(|p| (&input[..=end], Some(p)))
                    .ok_or(IdError::InvalidNode("junk after IPv6 address")),
            },
            None => Err(IdError::InvalidNode("unclosed '['")),
        };
    }
    Ok(match input.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (input, None),
    })
}

fn check_port(port: &str) -> Result<(), IdError> {
    let canonical = !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && !port.starts_with('0');
    match port.parse::<u32>() {
        Ok(n) if canonical && (1..=65535).contains(&n) => Ok(()),
        _ => Err(IdError::InvalidNode("port must be 1 to 65535")),
    }
}

fn check_dns_name(host: &str) -> Result<(), IdError> {
    if host.is_empty() {
        return Err(IdError::InvalidNode("empty host"));
    }
    if host.len() > 253 {
        return Err(IdError::InvalidNode("host longer than 253 characters"));
    }
    for label in host.split('.') {
        let bytes = label.as_bytes();
        let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
            return Err(IdError::InvalidNode("empty DNS label"));
        };
        if bytes.len() > 63 {
            return Err(IdError::InvalidNode("DNS label longer than 63 characters"));
        }
        if !bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        {
            return Err(IdError::InvalidNode(
                "DNS labels hold only a-z, 0-9 and '-' (lowercase)",
            ));
        }
        if *first == b'-' || *last == b'-' {
            return Err(IdError::InvalidNode("DNS label starts or ends with '-'"));
        }
    }
    Ok(())
}
