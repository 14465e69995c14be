//! Peers known to be down: a peer that did not answer a dial (or fell silent on its link) is
//! answered `unreachable` at once for a short while, so a user's write to a group whose home
//! is down is refused in a moment instead of waiting for another dial each time
//! (spec/federation.md §3.4). A successful dial, or the peer reaching us, clears it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use winichat_protocol::ids::NodeName;

/// How long a peer that did not answer stays known down: long enough that a burst of writes
/// is refused at once, short enough that a peer back after a brief outage is tried again soon
/// (even one that has nothing to send us and so never reaches us first).
pub const DOWN_FOR: Duration = Duration::from_secs(2);
/// The most peers remembered as down; past it, expired entries are dropped and, if all are
/// current, the new one is not recorded (it is then dialled again, as before).
const MAX_DOWN_PEERS: usize = 4096;

/// The peers known to be down, each until when.
#[derive(Debug, Default)]
pub struct DownPeers {
    until: Mutex<HashMap<NodeName, Instant>>,
}

impl DownPeers {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<NodeName, Instant>> {
        // Each change is one insert or remove: a poisoned map is still consistent.
        self.until.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes that `peer` did not answer: it is down for [`DOWN_FOR`] from now.
    pub fn mark_down(&self, peer: &NodeName) {
        self.mark_down_at(peer, Instant::now());
    }

    fn mark_down_at(&self, peer: &NodeName, now: Instant) {
        let mut map = self.map();
        if map.len() >= MAX_DOWN_PEERS && !map.contains_key(peer) {
            map.retain(|_, until| *until > now);
            if map.len() >= MAX_DOWN_PEERS {
                return;
            }
        }
        map.insert(peer.clone(), now + DOWN_FOR);
    }

    /// Notes that `peer` answered (a dial succeeded, or it reached us): no longer down.
    pub fn mark_reached(&self, peer: &NodeName) {
        self.map().remove(peer);
    }

    /// Whether `peer` is known down right now.
    pub fn is_down(&self, peer: &NodeName) -> bool {
        self.is_down_at(peer, Instant::now())
    }

    fn is_down_at(&self, peer: &NodeName, now: Instant) -> bool {
        let mut map = self.map();
        match map.get(peer) {
            Some(until) if *until > now => true,
            Some(_) => {
                map.remove(peer);
                false
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> NodeName {
        NodeName::parse(text).expect("node name")
    }

    #[test]
    fn a_peer_is_down_for_a_while_or_until_it_is_reached() {
        let down = DownPeers::default();
        let (a, b) = (name("a.example"), name("b.example"));
        let now = Instant::now();
        assert!(!down.is_down_at(&a, now));
        down.mark_down_at(&a, now);
        down.mark_down_at(&b, now);
        assert!(down.is_down_at(&a, now) && down.is_down_at(&b, now));
        down.mark_reached(&a);
        assert!(!down.is_down_at(&a, now), "reached: up again at once");
        let later = now + DOWN_FOR + Duration::from_millis(1);
        assert!(!down.is_down_at(&b, later), "down only for a while");
    }
}
