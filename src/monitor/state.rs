//! Incident state shared by every container of the function, the claims that keep a
//! redelivered batch from being handled twice, and the halves of split requests: the
//! ports ([`IncidentStore`], [`BatchClaims`], [`SplitHalves`]) and [`MemoryStore`],
//! which keeps them in this process (the CLI, `dry-run`, tests). The DynamoDB table
//! (`aws::state::DynamoStore`) gives every container the same state, with conditional
//! writes, so that when two containers see the first timeout of an incident at once,
//! exactly one writes the incident and sends `firing`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use crate::engine::budget::{BudgetNotice, SloCounts};
use crate::engine::daily_latency::RouteDay;
use crate::engine::incidents::Incident;
use crate::engine::slo::SloKey;
use crate::model::daily_latency::{day_of, DayLatency};

/// A claim older than this while still `processing` was left by an invocation that
/// died (the function's timeout is 60 s): Lambda's retry, a minute or more later, may
/// take the batch over.
pub const CLAIM_STALE_MS: i64 = 90 * 1000;
/// How long a handled batch is remembered (CloudWatch Logs and Lambda retry within hours).
pub const CLAIM_TTL_SECS: i64 = 24 * 3600;
/// A half of a split request waits this long for the other (a request lasts at most
/// the 29 s limit, or 300 s raised; deliveries lag by minutes at worst).
pub const PAIR_TTL_SECS: i64 = 3600;
/// How long a day's latency counts are kept (the drift digest reads 14 days back).
pub const DAY_TTL_SECS: i64 = 16 * 86_400;

/// One half of a request whose lines arrived in two batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    /// Its beginning (method, route, backend), still waiting for its end.
    Start,
    /// Its end (status, latency, failure), without its beginning.
    End,
}

impl Half {
    pub fn as_str(self) -> &'static str {
        match self {
            Half::Start => "start",
            Half::End => "end",
        }
    }
    pub fn other(self) -> Half {
        match self {
            Half::Start => Half::End,
            Half::End => Half::Start,
        }
    }
    pub fn parse(s: &str) -> Option<Half> {
        match s {
            "start" => Some(Half::Start),
            "end" => Some(Half::End),
            _ => None,
        }
    }
}

/// The rule of [`SplitHalves::join_half`], on what the item held before the write:
/// the second half to arrive counts the request, unless the first was an end already
/// counted where it arrived. A retry of the second writer's batch decides the same.
pub fn completes(
    half: Half,
    first: Option<Half>,
    other: Option<String>,
    counted: bool,
) -> Option<String> {
    if first == Some(half.other()) && !counted {
        other
    } else {
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("DynamoDB {op} on {table} failed: {message}")]
    Dynamo {
        op: &'static str,
        table: String,
        message: String,
    },
    #[error("incident item {key} in {table} is unreadable: {message}")]
    Corrupt {
        table: String,
        key: String,
        message: String,
    },
}

/// What a state port returns (boxed, so that the ports can be `dyn`).
pub type StateFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StateError>> + Send + 'a>>;

/// What the incident lifecycle needs from a store. Every write is conditional:
/// `false` means another container wrote first (read again and retry).
pub trait IncidentStore: Send + Sync {
    /// The open incident on `store_key`.
    fn get<'a>(&'a self, store_key: &'a str) -> StateFuture<'a, Option<Incident>>;
    /// Writes `next` if the stored version is `expected` (0: no incident stored).
    fn put<'a>(&'a self, next: &'a Incident, expected: u64) -> StateFuture<'a, bool>;
    /// Deletes the incident if it is still at `version`.
    fn remove<'a>(&'a self, store_key: &'a str, version: u64) -> StateFuture<'a, bool>;
    /// Every open incident.
    fn open(&self) -> StateFuture<'_, Vec<Incident>>;
}

/// Claims on batches, so that a redelivered batch is handled once across containers.
pub trait BatchClaims: Send + Sync {
    /// Claims a batch for this container; `false`: it was handled, or is being handled.
    fn claim_batch<'a>(&'a self, batch_key: &'a str, now: i64) -> StateFuture<'a, bool>;
    /// Marks the claim done (`ok`), or gives it back so that a retry may take it.
    fn finish_batch<'a>(&'a self, batch_key: &'a str, ok: bool, now: i64) -> StateFuture<'a, ()>;
}

/// The halves of requests split between containers.
pub trait SplitHalves: Send + Sync {
    /// Writes one half of the split request `request_id` (once: a second write of the
    /// same half changes nothing), atomically. Returns the other half when this write
    /// completes the pair and the request is this writer's to count; `counted`: this
    /// half (an end) is counted where it arrived, whatever comes later.
    fn join_half<'a>(
        &'a self,
        request_id: &'a str,
        half: Half,
        body: &'a str,
        counted: bool,
        now: i64,
    ) -> StateFuture<'a, Option<String>>;
}

/// The daily latency histograms shared by every container (`monitor::drift`).
pub trait DailyLatencyStore: Send + Sync {
    /// Adds each row's counts to its stored day, by plain addition (what K containers
    /// add up to is what one would have counted).
    fn add<'a>(&'a self, rows: &'a [RouteDay], now: i64) -> StateFuture<'a, ()>;
    /// Every route's stored days from `first` to `last` (days since the epoch, inclusive).
    fn days(&self, first: i64, last: i64) -> StateFuture<'_, Vec<RouteDay>>;
}

/// A route's day: (day, account, API, stage, route).
type DayKey = (i64, String, String, String, String);

/// The error budgets in this process (`monitor::budget::memory` implements the port).
#[derive(Debug, Default)]
pub struct Budgets {
    /// SLO → its counts (per route per minute; per day; the first minute).
    pub(super) counts: std::collections::BTreeMap<SloKey, SloCounts>,
    /// SLO → the last minute counted.
    pub(super) last: std::collections::BTreeMap<SloKey, i64>,
    pub(super) notices: std::collections::BTreeMap<SloKey, BudgetNotice>,
}

/// The state in this process: one container's view, as before shared state existed.
#[derive(Debug, Default)]
pub struct MemoryStore {
    incidents: Mutex<HashMap<String, Incident>>,
    /// Batch key → (done, claimed at).
    batches: Mutex<HashMap<String, (bool, i64)>>,
    /// Request id → its halves.
    pairs: Mutex<HashMap<String, Pair>>,
    /// The error budgets' counts and open notices (`monitor::budget`).
    pub(super) budget: Mutex<Budgets>,
    days: Mutex<HashMap<DayKey, DayLatency>>,
}

#[derive(Debug, Default)]
struct Pair {
    start: Option<String>,
    end: Option<String>,
    first: Option<Half>,
    counted: bool,
    at: i64,
}

impl MemoryStore {
    pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl IncidentStore for MemoryStore {
    fn get<'a>(&'a self, store_key: &'a str) -> StateFuture<'a, Option<Incident>> {
        Box::pin(async move { Ok(Self::lock(&self.incidents).get(store_key).cloned()) })
    }

    fn put<'a>(&'a self, next: &'a Incident, expected: u64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let mut m = Self::lock(&self.incidents);
            let key = next.key.store_key();
            let current = m.get(&key).map_or(0, |i| i.version);
            if current != expected {
                return Ok(false);
            }
            m.insert(key, next.clone());
            Ok(true)
        })
    }

    fn remove<'a>(&'a self, store_key: &'a str, version: u64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let mut m = Self::lock(&self.incidents);
            if m.get(store_key).map(|i| i.version) != Some(version) {
                return Ok(false);
            }
            m.remove(store_key);
            Ok(true)
        })
    }

    fn open<'a>(&'a self) -> StateFuture<'a, Vec<Incident>> {
        Box::pin(async move {
            let mut v: Vec<Incident> = Self::lock(&self.incidents).values().cloned().collect();
            v.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(v)
        })
    }
}

impl BatchClaims for MemoryStore {
    fn claim_batch<'a>(&'a self, batch_key: &'a str, now: i64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let mut m = Self::lock(&self.batches);
            m.retain(|_, (_, at)| now - *at < CLAIM_TTL_SECS * 1000);
            match m.get(batch_key) {
                Some((true, _)) => Ok(false),
                Some((false, at)) if now - *at < CLAIM_STALE_MS => Ok(false),
                _ => {
                    m.insert(batch_key.to_owned(), (false, now));
                    Ok(true)
                }
            }
        })
    }

    fn finish_batch<'a>(&'a self, batch_key: &'a str, ok: bool, now: i64) -> StateFuture<'a, ()> {
        Box::pin(async move {
            let mut m = Self::lock(&self.batches);
            if ok {
                m.insert(batch_key.to_owned(), (true, now));
            } else {
                m.remove(batch_key);
            }
            Ok(())
        })
    }
}

impl SplitHalves for MemoryStore {
    fn join_half<'a>(
        &'a self,
        request_id: &'a str,
        half: Half,
        body: &'a str,
        counted: bool,
        now: i64,
    ) -> StateFuture<'a, Option<String>> {
        Box::pin(async move {
            let mut m = Self::lock(&self.pairs);
            if m.len() % 1024 == 1023 {
                m.retain(|_, p| now - p.at < PAIR_TTL_SECS * 1000);
            }
            let p = m.entry(request_id.to_owned()).or_insert_with(|| Pair {
                at: now,
                ..Pair::default()
            });
            let (first, counted_before) = (p.first, p.counted);
            let other = match half {
                Half::Start => p.end.clone(),
                Half::End => p.start.clone(),
            };
            let slot = match half {
                Half::Start => &mut p.start,
                Half::End => &mut p.end,
            };
            slot.get_or_insert_with(|| body.to_owned());
            p.first.get_or_insert(half);
            p.counted |= counted;
            Ok(completes(half, first, other, counted_before))
        })
    }
}

impl DailyLatencyStore for MemoryStore {
    fn add<'a>(&'a self, rows: &'a [RouteDay], now: i64) -> StateFuture<'a, ()> {
        Box::pin(async move {
            let mut m = Self::lock(&self.days);
            let oldest = day_of(now) - DAY_TTL_SECS / 86_400;
            m.retain(|k, _| k.0 >= oldest);
            for r in rows {
                let l = &r.latency;
                let (a, api, st, route) = r.scope();
                let key = (l.day, a.into(), api.into(), st.into(), route.into());
                m.entry(key)
                    .or_insert_with(|| DayLatency::new(l.day, 0))
                    .merge(l);
            }
            Ok(())
        })
    }

    fn days(&self, first: i64, last: i64) -> StateFuture<'_, Vec<RouteDay>> {
        Box::pin(async move {
            let m = Self::lock(&self.days);
            let mut out: Vec<RouteDay> = m
                .iter()
                .filter(|(k, _)| (first..=last).contains(&k.0))
                .map(|(k, d)| RouteDay {
                    account: k.1.clone(),
                    api_id: k.2.clone(),
                    stage: k.3.clone(),
                    route: k.4.clone(),
                    latency: d.clone(),
                })
                .collect();
            out.sort_by(|a, b| (a.scope(), a.latency.day).cmp(&(b.scope(), b.latency.day)));
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::incidents::Severity;
    use crate::model::incident::IncidentKey;
    use crate::model::kind::Cause;
    use crate::model::kind::Kind;

    fn incident(version: u64) -> Incident {
        Incident {
            id: "inc-1".into(),
            key: IncidentKey {
                account: None,
                api_id: "a1".into(),
                stage: "prod".into(),
                backend: None,
                kind: Kind::Timeout,
            },
            cause: Cause::IntegrationTimeout,
            severity: Severity::Warning,
            backend: None,
            status: Some(504),
            opened_at: 0,
            last_activity: 0,
            first_seen: None,
            last_seen: None,
            requests: 1,
            affected: 1,
            routes: Default::default(),
            log_group: String::new(),
            onset: None,
            notified_at: 0,
            notified_affected: 1,
            notified_routes: 0,
            version,
        }
    }

    fn block<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn memory_store_writes_are_conditional() {
        let m = MemoryStore::default();
        let key = incident(1).key.store_key();
        assert!(block(m.put(&incident(1), 0)).unwrap());
        assert!(!block(m.put(&incident(1), 0)).unwrap(), "exists already");
        assert!(!block(m.put(&incident(2), 5)).unwrap(), "wrong version");
        assert!(block(m.put(&incident(2), 1)).unwrap());
        assert_eq!(block(m.get(&key)).unwrap().unwrap().version, 2);
        assert!(!block(m.remove(&key, 1)).unwrap());
        assert!(block(m.remove(&key, 2)).unwrap());
        assert!(block(m.open()).unwrap().is_empty());
    }

    #[test]
    fn memory_claims_once_until_released_or_stale() {
        let m = MemoryStore::default();
        assert!(block(m.claim_batch("b", 0)).unwrap());
        assert!(!block(m.claim_batch("b", 1)).unwrap());
        block(m.finish_batch("b", false, 2)).unwrap();
        assert!(
            block(m.claim_batch("b", 3)).unwrap(),
            "released: a retry takes it"
        );
        assert!(
            block(m.claim_batch("b", 3 + CLAIM_STALE_MS)).unwrap(),
            "stale claim"
        );
        block(m.finish_batch("b", true, 4 + CLAIM_STALE_MS)).unwrap();
        assert!(
            !block(m.claim_batch("b", 10 * CLAIM_STALE_MS)).unwrap(),
            "done"
        );
    }

    #[test]
    fn the_second_half_counts_once() {
        let m = MemoryStore::default();
        let j = |id, h, body: &str, counted| block(m.join_half(id, h, body, counted, 0)).unwrap();
        // End first, not counted: the start's writer counts it, once.
        assert_eq!(j("r1", Half::End, "e", false), None);
        assert_eq!(j("r1", Half::End, "e2", false), None, "the same half again");
        assert_eq!(j("r1", Half::Start, "s", false).as_deref(), Some("e"));
        assert_eq!(
            j("r1", Half::Start, "s", false).as_deref(),
            Some("e"),
            "a retry of that batch decides the same"
        );
        // Start first: the end's writer gets the start, counted or not.
        assert_eq!(j("r2", Half::Start, "s", false), None);
        assert_eq!(j("r2", Half::End, "e", true).as_deref(), Some("s"));
        // An end counted where it arrived: the start that comes later counts nothing.
        assert_eq!(j("r3", Half::End, "e", true), None);
        assert_eq!(j("r3", Half::Start, "s", false), None);
    }
}
