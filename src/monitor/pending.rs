//! Requests whose lines straddle two invocations. CloudWatch Logs batches by time
//! and the timeout line comes ~29 s after `Sending request to`, so a request's
//! start and end often arrive in different batches. The warm container keeps the
//! unfinished requests for a while (bounded in count and time) and hands them to
//! the next invocation, where the timeout is joined to its start.

use std::collections::{HashMap, VecDeque};

use crate::engine::request::Request;

#[derive(Debug)]
pub struct PendingRequests {
    ttl_ms: i64,
    max: usize,
    by_id: HashMap<String, (i64, Request)>,
    /// Insertion order, for eviction of the oldest first.
    order: VecDeque<(String, i64)>,
    /// When each request was first kept: a request handed to an invocation and kept
    /// again keeps its age, so the TTL counts from its first line, not its last look.
    born: HashMap<String, i64>,
}

impl PendingRequests {
    pub fn new(ttl_secs: u64, max: usize) -> Self {
        PendingRequests {
            ttl_ms: ttl_secs as i64 * 1000,
            max,
            by_id: HashMap::new(),
            order: VecDeque::new(),
            born: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// Everything still fresh, for the next analysis (the cache is emptied).
    pub fn take(&mut self, now_ms: i64) -> Vec<Request> {
        self.expire(now_ms);
        self.order.clear();
        self.by_id.drain().map(|(_, (_, r))| r).collect()
    }

    /// Keeps the requests an analysis left unfinished.
    pub fn keep(&mut self, requests: Vec<Request>, now_ms: i64) {
        if self.max == 0 {
            return;
        }
        for r in requests {
            let at = *self.born.entry(r.id.clone()).or_insert(now_ms);
            self.order.push_back((r.id.clone(), at));
            self.by_id.insert(r.id.clone(), (at, r));
        }
        self.expire(now_ms);
        while self.by_id.len() > self.max {
            match self.order.pop_front() {
                Some((id, at)) => {
                    if self.by_id.get(&id).is_some_and(|(t, _)| *t == at) {
                        self.by_id.remove(&id);
                    }
                }
                None => break,
            }
        }
    }

    fn expire(&mut self, now_ms: i64) {
        let ttl = self.ttl_ms;
        self.by_id.retain(|_, (at, _)| now_ms - *at <= ttl);
        self.order.retain(|(_, at)| now_ms - *at <= ttl);
        self.born.retain(|_, at| now_ms - *at <= ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::limits::ApiKind;
    use crate::model::provenance::Provenance;

    fn req(id: &str) -> Request {
        Request::new(id, ApiKind::Rest, Provenance::default())
    }

    #[test]
    fn bounded_in_time_and_count() {
        let mut p = PendingRequests::new(60, 2);
        p.keep(vec![req("a"), req("b"), req("c")], 0);
        assert_eq!(p.len(), 2);
        let ids: Vec<String> = p.take(1000).into_iter().map(|r| r.id).collect();
        assert!(ids.contains(&"b".to_owned()) && ids.contains(&"c".to_owned()));
        p.keep(vec![req("d")], 0);
        assert!(p.take(61_000).is_empty());
        // Handed out and kept again, a request keeps its age.
        let mut p = PendingRequests::new(60, 10);
        p.keep(vec![req("e")], 0);
        let again = p.take(30_000);
        p.keep(again, 30_000);
        assert!(p.take(61_000).is_empty());
        let mut off = PendingRequests::new(60, 0);
        off.keep(vec![req("a")], 0);
        assert!(off.is_empty());
    }
}
