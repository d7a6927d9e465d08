//! Log event ids already handled by this warm container. Lambda's asynchronous
//! invocation is at-least-once: the same batch can arrive twice, and its second
//! delivery must not alert twice. Ids are remembered (as 64-bit hashes) for the
//! alert cooldown window, bounded in count.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

#[derive(Debug)]
pub struct SeenEvents {
    window_ms: i64,
    max: usize,
    seen: HashMap<u64, i64>,
    order: VecDeque<(u64, i64)>,
}

/// What is remembered of an event id: its 64-bit hash, with the account that owns the
/// log group (`owner`, "" when the input does not say): event ids are not documented as
/// unique across accounts, and a central stream fans many in. Within one build the
/// default hasher with fixed keys is stable, and that is all we need (the batch claims
/// shared through DynamoDB are named from these). `None` for an empty id
/// (CONTROL_MESSAGE, text inputs): it is never a duplicate.
pub fn key(owner: &str, id: &str) -> Option<u64> {
    (!id.is_empty()).then(|| BuildHasherDefault::<DefaultHasher>::default().hash_one((owner, id)))
}

impl SeenEvents {
    pub fn new(window_secs: u64, max: usize) -> Self {
        SeenEvents {
            window_ms: window_secs as i64 * 1000,
            max,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether the event (its [`key`]) was handled within the window.
    pub fn contains(&self, key: u64, now_ms: i64) -> bool {
        self.seen
            .get(&key)
            .is_some_and(|at| now_ms - *at <= self.window_ms)
    }

    /// Remembers events (their [`key`]s) once their invocation succeeded.
    pub fn insert_all(&mut self, keys: impl IntoIterator<Item = u64>, now_ms: i64) {
        for k in keys {
            self.seen.insert(k, now_ms);
            self.order.push_back((k, now_ms));
        }
        while let Some(&(k, at)) = self.order.front() {
            if now_ms - at > self.window_ms || self.seen.len() > self.max {
                self.order.pop_front();
                if self.seen.get(&k) == Some(&at) {
                    self.seen.remove(&k);
                }
            } else {
                break;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_and_bound() {
        let k = |id: &str| key("111122223333", id).unwrap();
        let keys = |ids: &[&str]| ids.iter().map(|id| k(id)).collect::<Vec<_>>();
        let mut s = SeenEvents::new(10, 3);
        s.insert_all(keys(&["a", "b"]), 0);
        assert!(
            s.contains(k("a"), 5_000)
                && !s.contains(k("c"), 5_000)
                && key("111122223333", "").is_none()
        );
        assert!(!s.contains(k("a"), 11_000));
        s.insert_all(keys(&["c", "d", "e"]), 1);
        assert!(s.len() <= 3);
        s.insert_all(keys(&["f"]), 20_000);
        assert!(!s.contains(k("e"), 20_000) && s.contains(k("f"), 20_000));
    }

    #[test]
    fn the_same_id_in_two_accounts_is_two_events() {
        assert_ne!(key("111122223333", "3760"), key("444455556666", "3760"));
        assert_eq!(key("", "3760"), key("", "3760"));
    }
}
