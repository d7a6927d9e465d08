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

/// What is remembered of an event id: its 64-bit hash. Within one process the default
/// hasher with fixed keys is stable, and that is all we need.
pub fn key(id: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(id)
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

    /// Whether the event was handled within the window. Empty ids (CONTROL_MESSAGE,
    /// text inputs) are never duplicates.
    pub fn contains(&self, id: &str, now_ms: i64) -> bool {
        !id.is_empty()
            && self
                .seen
                .get(&key(id))
                .is_some_and(|at| now_ms - *at <= self.window_ms)
    }

    /// Remembers events once their invocation succeeded.
    pub fn insert_all<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>, now_ms: i64) {
        self.insert_keys(ids.into_iter().filter(|id| !id.is_empty()).map(key), now_ms);
    }

    /// Like [`SeenEvents::insert_all`], with the ids' [`key`]s (of non-empty ids).
    pub fn insert_keys(&mut self, keys: impl IntoIterator<Item = u64>, now_ms: i64) {
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
        let mut s = SeenEvents::new(10, 3);
        s.insert_all(["a", "b"], 0);
        assert!(s.contains("a", 5_000) && !s.contains("c", 5_000) && !s.contains("", 0));
        assert!(!s.contains("a", 11_000));
        s.insert_all(["c", "d", "e"], 1);
        assert!(s.len() <= 3);
        s.insert_all(["f"], 20_000);
        assert!(!s.contains("e", 20_000) && s.contains("f", 20_000));
    }
}
