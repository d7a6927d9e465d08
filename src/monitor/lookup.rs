//! Fetching a request's log lines after the fact, bounded.
//!
//! CloudWatch Logs delivers a stream's events in batches and may hand two batches of
//! one stream to two containers: the timeout line of a request then arrives without its
//! `Sending request to`, its route and its backend. [`LogLookup`] fetches those lines
//! back from the log group (`FilterLogEvents`, filtered by the request id, over
//! [`Query::start_ms`, `Query::end_ms`]). [`lookup_all`] runs several lookups at once,
//! under a per-invocation budget and the invocation's deadline: what does not fit is
//! *skipped* (the finding goes out undiagnosed and says so), never waited for.
//!
//! The trait is the seam: the Lambda uses `aws::lookup::CloudWatchLookup` (the real SDK client),
//! tests and the replay simulator use any store of events. Other log groups (a backend
//! function's `/aws/lambda/NAME`) use the same trait with their own [`Query`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default for `LOG_LOOKUPS_MAX`: lookups per invocation.
pub const DEFAULT_LOOKUPS_MAX: usize = 20;
/// A future that a [`LogLookup`] returns (boxed, so that the trait can be a `dyn`).
pub type LookupFuture =
    Pin<Box<dyn Future<Output = Result<Vec<FetchedEvent>, LookupError>> + Send>>;

/// What to fetch: the events of one stream of one group that mention one of `terms`, with timestamps in [`start_ms`, `end_ms`] (both inclusive, epoch milliseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Query {
    pub log_group: String,
    /// The account whose group it is, when that is not the function's own (a request
    /// fanned in from another account); `None`: the function's own account.
    pub account: Option<String>,
    /// `None`: every stream of the group.
    pub log_stream: Option<String>,
    /// The events holding any of these (a request id; a backend run's START and REPORT
    /// in the text and the JSON log format).
    pub terms: Vec<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    /// When the lookup must have ended (set by [`lookup_all`]): an assume-role on the
    /// way is bounded by it too.
    pub until: Option<Instant>,
}

impl Query {
    /// Whether `message` holds one of the terms, as FilterLogEvents matches them.
    pub fn matches(&self, message: &str) -> bool {
        self.terms.iter().any(|t| message.contains(t.as_str()))
    }
}

/// One log event as FilterLogEvents returns it. `id` is the same event id the
/// subscription delivered, so a fetched event already seen can be recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedEvent {
    pub id: String,
    pub timestamp: i64,
    pub message: String,
    pub log_stream: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LookupError {
    #[error("FilterLogEvents on {log_group} failed: {message}")]
    Failed { log_group: String, message: String },
    #[error("the lookup did not end before the invocation's deadline")]
    Deadline,
    /// The service refused the caller (`AccessDenied…`): in another account, that is a
    /// missing grant there, not a failure here.
    #[error("FilterLogEvents on {log_group} was denied: {message}")]
    Denied { log_group: String, message: String },
    /// The group is in another account that this function may not read.
    #[error("{log_group} is in account {account} and not readable: {why:?}")]
    NotReadable {
        log_group: String,
        account: String,
        why: crate::model::diagnosis::NoAccess,
    },
}

/// Fetches log events after the fact (see the module doc). Implementations must be
/// cheap to share: [`lookup_all`] runs each query as its own task.
pub trait LogLookup: Send + Sync {
    /// The events of `query`, oldest first. An error degrades the diagnosis of one
    /// finding; it never drops the finding.
    fn filter(&self, query: Query) -> LookupFuture;
}

/// What [`lookup_all`] did with each query, in the order given.
#[derive(Debug, Default)]
pub struct Lookups {
    pub results: Vec<(Query, Outcome)>,
    /// Queries that ran (each one API call at least).
    pub calls: usize,
    /// Queries not run or not finished: over the budget, or past the deadline.
    pub skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Found(Vec<FetchedEvent>),
    Failed(LookupError),
    /// Over the budget (`LOG_LOOKUPS_MAX`) or past the deadline: not looked up.
    Skipped,
}

/// Runs up to `budget` of `queries` concurrently, each bounded by `until`; the rest are
/// [`Outcome::Skipped`]. Needs a tokio runtime (each query is a task).
pub async fn lookup_all(
    lookup: &Arc<dyn LogLookup>,
    queries: Vec<Query>,
    budget: usize,
    until: Option<Instant>,
) -> Lookups {
    let mut out = Lookups::default();
    let mut set = tokio::task::JoinSet::new();
    let room = until.map(|u| u.saturating_duration_since(Instant::now()));
    for (i, q) in queries.iter().enumerate() {
        if i >= budget || room.is_some_and(|r| r.is_zero()) {
            break;
        }
        let fut = lookup.filter(Query { until, ..q.clone() });
        set.spawn(async move { (i, fut.await) });
        out.calls += 1;
    }
    let mut outcomes: Vec<Outcome> = vec![Outcome::Skipped; queries.len()];
    let collect = async {
        while let Some(joined) = set.join_next().await {
            if let Ok((i, r)) = joined {
                outcomes[i] = match r {
                    Ok(events) => Outcome::Found(events),
                    Err(e) => Outcome::Failed(e),
                };
            }
        }
    };
    match room {
        Some(r) => {
            if tokio::time::timeout(r, collect).await.is_err() {
                set.abort_all();
            }
        }
        None => collect.await,
    }
    out.skipped = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Skipped))
        .count();
    out.results = queries.into_iter().zip(outcomes).collect();
    out
}

/// A [`LogLookup`] over events held in memory: what the replay simulator and the
/// handler's tests hand the function as "the log group". Filtering follows
/// FilterLogEvents: group, stream, the term as a substring, the time range inclusive.
#[derive(Default)]
pub struct MemoryLookup {
    /// (log group, event).
    pub events: std::sync::RwLock<Vec<(String, FetchedEvent)>>,
    /// Calls made, for tests that count them.
    pub calls: std::sync::atomic::AtomicUsize,
    /// Make every call fail (a test of degradation).
    pub fail: std::sync::atomic::AtomicBool,
    /// Make every call take this long (a test of the deadline).
    pub delay: std::sync::Mutex<Option<Duration>>,
}

impl MemoryLookup {
    pub fn add(&self, log_group: &str, event: FetchedEvent) {
        self.events
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push((log_group.to_owned(), event));
    }
}

impl LogLookup for Arc<MemoryLookup> {
    fn filter(&self, query: Query) -> LookupFuture {
        use std::sync::atomic::Ordering;
        let me = Arc::clone(self);
        Box::pin(async move {
            me.calls.fetch_add(1, Ordering::Relaxed);
            let delay = *me.delay.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            if me.fail.load(Ordering::Relaxed) {
                return Err(LookupError::Failed {
                    log_group: query.log_group,
                    message: "injected failure".into(),
                });
            }
            let events = me.events.read().unwrap_or_else(|e| e.into_inner());
            let mut found: Vec<FetchedEvent> = events
                .iter()
                .filter(|(g, e)| {
                    *g == query.log_group
                        && query.log_stream.as_ref().is_none_or(|s| *s == e.log_stream)
                        && (query.start_ms..=query.end_ms).contains(&e.timestamp)
                        && query.matches(&e.message)
                })
                .map(|(_, e)| e.clone())
                .collect();
            found.sort_by_key(|e| e.timestamp);
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, ts: i64, msg: &str) -> FetchedEvent {
        FetchedEvent {
            id: id.into(),
            timestamp: ts,
            message: msg.into(),
            log_stream: "s".into(),
        }
    }

    fn q(term: &str) -> Query {
        Query {
            log_group: "g".into(),
            log_stream: Some("s".into()),
            terms: vec![term.into()],
            start_ms: 0,
            end_ms: 100,
            ..Query::default()
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn budget_skips_the_rest() {
        let mem = Arc::new(MemoryLookup::default());
        mem.add("g", ev("1", 10, "(a) Sending request to x"));
        mem.add("g", ev("2", 200, "(a) late"));
        mem.add("g", ev("3", 20, "(b) Sending request to y"));
        let lookup: Arc<dyn LogLookup> = Arc::new(Arc::clone(&mem));
        let got = rt().block_on(lookup_all(&lookup, vec![q("a"), q("b"), q("c")], 2, None));
        assert_eq!((got.calls, got.skipped), (2, 1));
        assert_eq!(mem.calls.load(std::sync::atomic::Ordering::Relaxed), 2);
        assert_eq!(
            got.results[0].1,
            Outcome::Found(vec![ev("1", 10, "(a) Sending request to x")])
        );
        assert!(matches!(got.results[1].1, Outcome::Found(ref v) if v.len() == 1));
        assert_eq!(got.results[2].1, Outcome::Skipped);
    }

    #[test]
    fn deadline_skips_what_has_not_ended() {
        let mem = Arc::new(MemoryLookup::default());
        *mem.delay.lock().unwrap() = Some(Duration::from_secs(30));
        let lookup: Arc<dyn LogLookup> = Arc::new(Arc::clone(&mem));
        let started = Instant::now();
        let until = Some(Instant::now() + Duration::from_millis(50));
        let got = rt().block_on(lookup_all(&lookup, vec![q("a"), q("b")], 20, until));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!((got.calls, got.skipped), (2, 2));
        // A deadline already passed: nothing is even tried.
        let got = rt().block_on(lookup_all(&lookup, vec![q("a")], 20, Some(Instant::now())));
        assert_eq!((got.calls, got.skipped), (0, 1));
    }

    #[test]
    fn failure_is_an_outcome() {
        let mem = Arc::new(MemoryLookup::default());
        mem.fail.store(true, std::sync::atomic::Ordering::Relaxed);
        let lookup: Arc<dyn LogLookup> = Arc::new(Arc::clone(&mem));
        let got = rt().block_on(lookup_all(&lookup, vec![q("a")], 20, None));
        assert!(matches!(
            got.results[0].1,
            Outcome::Failed(LookupError::Failed { .. })
        ));
        assert_eq!(got.skipped, 0);
    }
}
