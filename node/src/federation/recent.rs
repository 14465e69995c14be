//! A bounded memory of names and when something last happened to them (a failed document
//! fetch, a refetch), for per-name back-off.
//!
//! Past its capacity the least recently recorded names are forgotten one by one, never the
//! whole memory at once: otherwise anyone able to make enough names fail (a stranger connecting
//! under made-up names) could reset every other name's back-off in one burst.

use std::collections::{BTreeMap, HashMap};

use winichat_protocol::Timestamp;
use winichat_protocol::ids::NodeName;

/// Names with the time each was last recorded, at most `capacity` of them.
#[derive(Debug)]
pub(crate) struct RecentNames {
    capacity: usize,
    /// Each name's time and its place in `order`.
    times: HashMap<NodeName, (Timestamp, u64)>,
    /// Names by when they were recorded (a counter, so a clock step cannot reorder them).
    order: BTreeMap<u64, NodeName>,
    next: u64,
}

impl RecentNames {
    /// An empty memory holding at most `capacity` names (at least one).
    pub(crate) fn new(capacity: usize) -> RecentNames {
        RecentNames {
            capacity: capacity.max(1),
            times: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
        }
    }

    /// When `name` was last recorded, if it is remembered.
    pub(crate) fn get(&self, name: &NodeName) -> Option<Timestamp> {
        self.times.get(name).map(|(at, _)| *at)
    }

    /// Records `name` at `at`, as the newest entry; forgets the oldest names beyond capacity.
    pub(crate) fn record(&mut self, name: &NodeName, at: Timestamp) {
        self.remove(name);
        let place = self.next;
        self.next += 1;
        self.times.insert(name.clone(), (at, place));
        self.order.insert(place, name.clone());
        while self.times.len() > self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.times.remove(&oldest);
        }
    }

    /// Forgets `name`.
    pub(crate) fn remove(&mut self, name: &NodeName) {
        if let Some((_, place)) = self.times.remove(name) {
            self.order.remove(&place);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(i: usize) -> NodeName {
        NodeName::parse(&format!("n{i}.example")).expect("valid")
    }

    #[test]
    fn past_capacity_the_oldest_names_go_first_and_the_rest_stay() {
        let mut recent = RecentNames::new(4);
        // All in one millisecond, as a burst would be: the order still decides.
        let at = Timestamp(1_000);
        for i in 0..4 {
            recent.record(&name(i), at);
        }
        // Recording a remembered name again makes it the newest.
        recent.record(&name(0), Timestamp(2_000));
        for i in 4..6 {
            recent.record(&name(i), at);
        }
        assert_eq!(recent.times.len(), 4, "bounded");
        assert_eq!(recent.get(&name(1)), None, "the oldest went first");
        assert_eq!(recent.get(&name(2)), None);
        assert_eq!(recent.get(&name(0)), Some(Timestamp(2_000)));
        for i in 3..6 {
            assert_eq!(recent.get(&name(i)), Some(at), "n{i} is kept");
        }
        recent.remove(&name(4));
        assert_eq!(recent.get(&name(4)), None);
        assert_eq!(recent.times.len(), 3);
        assert_eq!(recent.order.len(), 3, "the order holds no forgotten names");
    }

    #[test]
    fn a_burst_of_new_names_pushes_out_only_as_many_as_it_adds() {
        const CAPACITY: usize = 64;
        let mut recent = RecentNames::new(CAPACITY);
        let earlier = name(10_000);
        recent.record(&earlier, Timestamp(1));
        for i in 0..CAPACITY - 1 {
            recent.record(&name(i), Timestamp(2));
        }
        assert_eq!(
            recent.get(&earlier),
            Some(Timestamp(1)),
            "full, nothing lost"
        );
        recent.record(&name(CAPACITY), Timestamp(2));
        assert_eq!(recent.get(&earlier), None, "one new name, one old name out");
        assert_eq!(recent.times.len(), CAPACITY);
        assert!(recent.get(&name(0)).is_some(), "the others stay");
    }
}
