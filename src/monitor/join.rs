//! Joining split requests through the shared state.
//!
//! CloudWatch Logs cuts a stream into batches every few seconds and hands each batch to
//! whichever container is free: a request whose lines straddle a cut has its start in
//! one container and its end in another. The pending cache ([`super::pending`]) only
//! helps when both reach the same container, and lookups ([`super::heal`]) only fetch
//! failures. Here each container writes its halves to the state table
//! ([`SplitHalves::join_half`]): the end of a request it saw without its start, and the
//! start of a request still waiting for its end. The second half to arrive gets the
//! first back and counts the whole request, with its route, in its own batch; the
//! first is left out of its batch ([`Analyzer::defer`]). So each split request is
//! counted once, on its route, whatever the order and the container.
//!
//! Failures are never held back: a timeout or error end is counted where it arrives
//! (written `counted`, healed from the start if the table has it, else looked up), so
//! its alert does not wait for another batch. A write that fails degrades to what
//! happens without a table: the end is counted here under its unknown route, the
//! start is written again by the container's next invocation.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::engine::analysis::Analyzer;
use crate::engine::orphans;
use crate::engine::request::Request;
use crate::monitor::state::{Half, SplitHalves};

/// Writes in flight at once (each a small UpdateItem).
const CONCURRENCY: usize = 16;
/// No write starts with less than this left before the invocation's deadline.
const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// What joining did in one invocation.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Joining {
    /// Halves written (one small write each).
    pub writes: usize,
    /// Requests made whole from a half another batch left in the table.
    pub joined: usize,
    /// Ends left out of this batch: the batch that brings their start counts them.
    pub deferred: usize,
    /// Writes that failed (or were not made, near the deadline).
    pub failed: usize,
}

struct Write {
    id: String,
    half: Half,
    body: String,
    counted: bool,
}

/// Writes this analysis's halves and joins what comes back. `written`: the starts this
/// container has written already (kept across invocations, pruned by the caller).
pub async fn join(
    analyzer: &mut Analyzer<'_>,
    store: &dyn SplitHalves,
    written: &HashSet<String>,
    deadline: Option<Instant>,
    now: i64,
) -> (Joining, Vec<String>) {
    let mut out = Joining::default();
    let (ends, starts) = analyzer.split_halves();
    let writes: Vec<Write> = ends
        .into_iter()
        .map(|r| (r, Half::End, orphans::failed(r)))
        .chain(
            starts
                .into_iter()
                .filter(|r| !written.contains(&r.id))
                .map(|r| (r, Half::Start, false)),
        )
        .filter_map(|(r, half, counted)| {
            Some(Write {
                id: r.id.clone(),
                half,
                body: body(r)?,
                counted,
            })
        })
        .collect();
    if writes.is_empty() {
        return (out, Vec::new());
    }
    if deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) < DEADLINE_MARGIN) {
        out.failed = writes.len();
        tracing::warn!(
            halves = writes.len(),
            "too close to the deadline to join split requests: their ends count under their unknown route"
        );
        return (out, Vec::new());
    }
    let results: Vec<_> = futures_util::stream::iter(
        writes
            .iter()
            .map(|w| store.join_half(&w.id, w.half, &w.body, w.counted, now)),
    )
    .buffered(CONCURRENCY)
    .collect()
    .await;
    let mut newly_written = Vec::new();
    for (w, result) in writes.into_iter().zip(results) {
        out.writes += 1;
        let other = match result {
            Ok(other) => other,
            Err(e) => {
                tracing::warn!(request_id = %w.id, half = w.half.as_str(), error = %e, "could not write a split request's half: counted without it");
                out.failed += 1;
                continue;
            }
        };
        // A start that got its end back is not remembered as written: if this batch
        // fails, the retry writes it again and gets the same end back.
        if w.half == Half::Start && other.is_none() {
            newly_written.push(w.id.clone());
        }
        match other.map(|b| serde_json::from_str::<Request>(&b)) {
            Some(Ok(other)) => out.joined += usize::from(analyzer.join(other)),
            Some(Err(e)) => {
                tracing::warn!(request_id = %w.id, error = %e, "unreadable half of a split request in the state table: counted without it");
                out.failed += 1;
            }
            None if w.half == Half::End && !w.counted => {
                analyzer.defer(&w.id);
                out.deferred += 1;
            }
            None => {}
        }
    }
    (out, newly_written)
}

/// A half as stored: the request as JSON, without its empty fields (most items then
/// stay under DynamoDB's 1 KB write unit). `None` if it cannot be written.
fn body(r: &Request) -> Option<String> {
    let mut v = serde_json::to_value(r).ok()?;
    if let serde_json::Value::Object(m) = &mut v {
        m.retain(|_, x| !x.is_null());
    }
    serde_json::to_string(&v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::analysis::Analyzer;
    use crate::engine::config::EngineConfig;
    use crate::logs::envelope::Source;
    use std::sync::Arc;

    const GROUP: &str = "API-Gateway-Execution-Logs_abc123/prod";
    const ID: &str = "11111111-2222-4333-8444-555555555555";

    fn feed(a: &mut Analyzer<'_>, lines: &[(i64, &str)]) {
        for (i, (ts, text)) in lines.iter().enumerate() {
            let src = Source {
                log_group: GROUP,
                log_stream: "s1",
            };
            a.add_event(src, &format!("{ts}{i}"), *ts, &format!("({ID}) {text}"));
        }
    }

    const START: &[(i64, &str)] = &[
        (1_000, "Starting execution for request: 11111111-2222-4333-8444-555555555555"),
        (1_000, "HTTP Method: POST, Resource Path: /orders/ord-1/pay"),
        (1_000, "API Key authorized because method 'POST /orders/{orderId}/pay' does not require API Key. Request will not contribute to throttle or quota limits"),
        (1_001, "Sending request to https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:pay/invocations"),
    ];
    const END: &[(i64, &str)] = &[
        (
            26_001,
            "Received response. Status: 200, Integration latency: 25000 ms",
        ),
        (26_001, "Method completed with status: 200"),
    ];

    fn run(
        store: &dyn SplitHalves,
        written: &HashSet<String>,
        lines: &[(i64, &str)],
    ) -> (Joining, crate::engine::analysis::Analysis) {
        let config = EngineConfig::default();
        let mut a = Analyzer::new(&config);
        feed(&mut a, lines);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (j, _) = rt.block_on(join(&mut a, store, written, None, 0));
        (j, a.finish().0)
    }

    #[test]
    fn the_end_first_waits_for_its_start_and_counts_once() {
        let shared = Arc::new(crate::monitor::state::MemoryStore::default());
        let (b, c) = (shared.as_ref(), shared.as_ref());
        let none = HashSet::new();
        let (j, end) = run(b, &none, END);
        assert_eq!((j.writes, j.deferred, j.joined), (1, 1, 0));
        assert!(end.observations.is_empty() && end.findings.is_empty());
        let (j, start) = run(c, &none, START);
        assert_eq!((j.writes, j.joined), (1, 1));
        assert_eq!(
            start.findings.len(),
            1,
            "the near-limit finding, with its route"
        );
        assert_eq!(
            start.findings[0].route.to_string(),
            "POST /orders/{orderId}/pay"
        );
        let o = &start.observations[0];
        assert!(!o.waiting && o.integration_latency_ms == Some(25_000));
    }

    #[test]
    fn the_start_first_is_joined_by_the_end() {
        let shared = Arc::new(crate::monitor::state::MemoryStore::default());
        let none = HashSet::new();
        let (j, start) = run(shared.as_ref(), &none, START);
        assert_eq!((j.writes, j.joined), (1, 0));
        assert!(start.observations[0].waiting);
        let (j, end) = run(shared.as_ref(), &none, END);
        assert_eq!((j.writes, j.joined, j.deferred), (1, 1, 0));
        assert_eq!(
            end.routes[0].key.route.to_string(),
            "POST /orders/{orderId}/pay"
        );
        // A start written before is not written again.
        let again: HashSet<String> = [ID.to_owned()].into();
        let (j, _) = run(shared.as_ref(), &again, START);
        assert_eq!(j.writes, 0);
    }

    #[test]
    fn a_half_fits_one_write_unit() {
        let config = EngineConfig::default();
        let mut a = Analyzer::new(&config);
        feed(&mut a, START);
        let (_, starts) = a.split_halves();
        let b = body(starts[0]).unwrap();
        assert!(b.len() < 1024, "{} bytes: {b}", b.len());
        let back: Request = serde_json::from_str(&b).unwrap();
        assert_eq!(&back, starts[0]);
    }

    #[test]
    fn a_timeout_end_is_counted_where_it_arrives() {
        let shared = Arc::new(crate::monitor::state::MemoryStore::default());
        let timeout: &[(i64, &str)] = &[
            (30_005, "Execution failed due to a timeout error"),
            (30_005, "Method completed with status: 504"),
        ];
        let (j, end) = run(shared.as_ref(), &HashSet::new(), timeout);
        assert_eq!((j.writes, j.deferred), (1, 0));
        assert_eq!(end.findings.len(), 1);
        let (j, start) = run(shared.as_ref(), &HashSet::new(), START);
        assert_eq!(j.joined, 0, "counted where it arrived");
        assert!(start.observations[0].waiting && start.findings.is_empty());
    }
}
