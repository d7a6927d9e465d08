//! Healing split requests in one invocation: the orphans of the batch
//! ([`crate::engine::orphans`]) are looked up ([`crate::monitor::lookup`]), concurrently and
//! within the budget and the deadline, and their fetched lines join the same analysis
//! before it finishes. What could not be healed still goes out, and says why.

use crate::engine::analysis::{Analysis, Analyzer};
use crate::engine::orphans;
use crate::logs::envelope::Source;
use crate::model::diagnosis::Unhealed;
use crate::model::limits::Limits;
use crate::monitor::accounts;
use crate::monitor::lookup::{self, LogLookup, LookupError, Outcome, Query};
use crate::monitor::seen_events;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// What healing did in one invocation.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Healing {
    /// Orphans found (failed requests without their beginning).
    pub orphans: usize,
    /// Lookups made (API calls, at least one each).
    pub lookups: usize,
    /// Orphans whose beginning was found.
    pub healed: usize,
    /// Lookups that failed (the finding goes out undiagnosed).
    pub failed: usize,
    /// Over the budget or past the deadline: `LookupsSkipped`.
    pub skipped: usize,
    /// In another account that this function may not read (`CROSS_ACCOUNT_EVIDENCE`).
    #[serde(skip_serializing_if = "is_zero")]
    pub not_readable: usize,
    /// Request id → why its earlier lines are missing from the diagnosis.
    #[serde(skip)]
    pub undiagnosed: HashMap<String, Unhealed>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How lookups are bounded in one invocation.
pub struct Bounds<'a> {
    pub budget: usize,
    pub until: Option<Instant>,
    pub limits: &'a Limits,
    /// Execution log groups this function is known to read.
    pub subscribed: &'a HashSet<String>,
    /// The function's own account, when known: a request from another account is looked
    /// up there (`monitor::accounts`).
    pub own_account: Option<&'a str>,
}

/// Looks up the orphans of `analyzer` and feeds their lines back. `batch_ids` are the
/// [`seen_events::key`]s of the batch's events (a fetched event already read is not
/// applied twice). `lookup` `None`: lookups are off; orphans go out as they are, and
/// nothing is even counted.
pub async fn heal(
    analyzer: &mut Analyzer<'_>,
    lookup: Option<&Arc<dyn LogLookup>>,
    batch_ids: &[u64],
    bounds: Bounds<'_>,
) -> Healing {
    // Lookups off: not even a look at the requests.
    let Some(lookup) = lookup else {
        return Healing::default();
    };
    let wanted = orphans::wanted(analyzer.requests(), bounds.limits, |g| {
        bounds.subscribed.contains(g)
    });
    let mut out = Healing {
        orphans: wanted.len(),
        ..Healing::default()
    };
    if wanted.is_empty() {
        return out;
    }
    let queries: Vec<Query> = wanted
        .iter()
        .map(|w| Query {
            log_group: w.log_group.clone(),
            account: accounts::foreign(w.account.as_deref(), bounds.own_account),
            log_stream: w.log_stream.clone(),
            terms: vec![w.request_id.clone()],
            start_ms: w.start_ms,
            end_ms: w.end_ms,
            until: None,
        })
        .collect();
    // The account of each request's lines, for their seen-event keys (`Query::account`
    // names only a foreign one).
    let owners: HashMap<&str, &str> = wanted
        .iter()
        .map(|w| {
            (
                w.request_id.as_str(),
                w.account.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    let done = lookup::lookup_all(lookup, queries, bounds.budget, bounds.until).await;
    out.lookups = done.calls;
    let seen: HashSet<u64> = batch_ids.iter().copied().collect();
    for (query, outcome) in done.results {
        let id = query.terms.into_iter().next().unwrap_or_default();
        let owner = owners.get(id.as_str()).copied().unwrap_or_default();
        match outcome {
            Outcome::Found(events) => {
                let mut applied = 0;
                for e in events {
                    // Only this request's lines (the pattern matches a term anywhere),
                    // and none that the batch already brought.
                    let own = crate::logs::execution_log::split_request_id(&e.message)
                        .is_some_and(|(rid, _)| rid == id);
                    if !own || seen_events::key(owner, &e.id).is_some_and(|k| seen.contains(&k)) {
                        continue;
                    }
                    let src = Source {
                        log_group: &query.log_group,
                        log_stream: &e.log_stream,
                    };
                    analyzer.add_fetched(src, &e.id, e.timestamp, &e.message);
                    applied += 1;
                }
                let healed = applied > 0
                    && analyzer
                        .requests()
                        .find(|r| r.id == id)
                        .is_some_and(|r| !orphans::is_orphan(r));
                if healed {
                    out.healed += 1;
                } else {
                    out.undiagnosed.insert(id, Unhealed::NotFound);
                }
            }
            Outcome::Failed(LookupError::NotReadable { account, why, .. }) => {
                // Not a failure here: the evidence is elsewhere, and the finding says so.
                tracing::info!(request_id = %id, %account, ?why, "early lines in another account, not readable");
                out.not_readable += 1;
                out.undiagnosed
                    .insert(id, Unhealed::NotReadable { account, why });
            }
            Outcome::Failed(e) => {
                tracing::warn!(request_id = %id, error = %e, "log lookup failed: the finding goes out undiagnosed");
                out.failed += 1;
                out.undiagnosed.insert(id, Unhealed::LookupFailed);
            }
            Outcome::Skipped => {
                out.skipped += 1;
                out.undiagnosed.insert(id, Unhealed::Skipped);
            }
        }
    }
    out
}

impl Healing {
    /// Says, in each finding that could not be healed, that its beginning is missing and why.
    pub fn annotate(&self, analysis: &mut Analysis) {
        if self.undiagnosed.is_empty() {
            return;
        }
        for f in &mut analysis.findings {
            let Some(why) = f
                .request_id
                .as_deref()
                .and_then(|id| self.undiagnosed.get(id))
            else {
                continue;
            };
            f.diagnosis.unhealed = Some(why.clone());
        }
    }
}
