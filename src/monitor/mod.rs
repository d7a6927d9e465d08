//! One invocation, free of any runtime or SDK: a log batch or a schedule tick, as a
//! short sequence of steps, each a function of its own settings and small ports.
//!
//! - [`ingest`]: decode the payload, skip what this container handled, stream the rest
//!   into the engine;
//! - [`evidence`]: under one budget and deadline, join split requests through the
//!   shared state ([`join`]), heal them from the log group ([`heal`]), finish the
//!   analysis, look up the backend runs of timeouts ([`backend_runs`]);
//! - [`track`]: each incident against the shared state, with conditional writes;
//! - [`notify`]: render and send the notifications, undoing a step whose send failed;
//! - [`publish_metrics`]: the batch's metric data, once;
//! - [`tick`]: the schedule resolves quiet incidents and, once a day, sends the
//!   [`drift`] digest;
//! - [`changes`]: a CloudTrail change event is recorded, and read back for an alert's
//!   "what changed";
//! - [`budget`]: each batch's requests counted toward their SLOs; the tick assesses the
//!   burn rates and fires, updates or resolves the budget notices.
//!
//! The ports: [`state`] (incidents, batch claims, split halves), [`lookup`] (log
//! events after the fact), [`outputs`] (metrics, notifiers). `aws/` implements them
//! with the SDK clients; [`state::MemoryStore`], [`lookup::MemoryLookup`] and
//! [`recorder::Recorder`] keep them in this process (the CLI's dry run, tests).
//! `lambda/` turns the runtime's event into [`Monitor::handle`].

pub mod accounts;
pub mod backend_runs;
pub mod budget;
pub mod changes;
pub mod drift;
pub mod evidence;
pub mod heal;
pub mod ingest;
pub mod join;
pub mod lookup;
pub mod notify;
pub mod outputs;
pub mod pending;
pub mod publish_metrics;
pub mod recorder;
pub mod route_traffic;
pub mod seen_events;
pub mod settings;
pub mod state;
pub mod tick;
pub mod track;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::engine::analysis::{Analysis, Summary};
use crate::logs::envelope::EnvelopeError;
use crate::monitor::lookup::LogLookup;
use crate::monitor::outputs::{MetricsOut, Notifier, PublishError};
use crate::monitor::pending::PendingRequests;
use crate::monitor::recorder::Recorder;
use crate::monitor::seen_events::SeenEvents;
use crate::monitor::settings::Settings;
use crate::monitor::state::{
    BatchClaims, DailyLatencyStore, IncidentStore, MemoryStore, SplitHalves,
};

/// Cap on remembered event ids (64-bit hashes: ~1.6 MB at most).
const SEEN_EVENTS_MAX: usize = 100_000;
/// How long this container remembers event ids it handled.
const SEEN_EVENTS_SECS: u64 = 3600;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The batch cannot be decoded. Retrying cannot help; the failure destination keeps it.
    #[error("batch rejected: {0}")]
    Rejected(#[from] Box<EnvelopeError>),
    /// Sending failed; a retry may succeed.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// A change event could not be stored; a retry may succeed.
    #[error("change not recorded: {0}")]
    ChangeNotRecorded(#[from] crate::monitor::state::StateError),
}

impl HandlerError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            HandlerError::Publish(_) | HandlerError::ChangeNotRecorded(_)
        )
    }
}

/// What one invocation did: the summary log line, and the Lambda's response.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct InvocationSummary {
    /// What the engine read and found.
    #[serde(flatten)]
    pub analysis: Summary,
    pub duplicate_events: u64,
    /// The whole batch was handled already (by this or another container).
    pub duplicate_batch: bool,
    /// Incidents the findings belong to.
    pub incidents: usize,
    pub alerts_sent: usize,
    /// Incidents that got findings but no notification (not worse enough, or too soon).
    pub alerts_held: usize,
    pub resolved: usize,
    pub state_errors: u64,
    pub metric_calls: usize,
    pub metric_data: usize,
    pub pending_requests: usize,
    /// Split requests looked up and healed ([`heal`]).
    pub healing: heal::Healing,
    /// Split requests joined through the state table ([`join`]).
    pub joining: join::Joining,
    /// Backend function runs looked up for timeouts ([`backend_runs`]).
    pub backend_lookups: backend_runs::BackendLookups,
    /// CloudTrail change events recorded, and ignored (not a change the doctor relates).
    pub changes_recorded: usize,
    pub changes_ignored: usize,
    /// Budget notices sent (firing, update, resolved) by the schedule's tick.
    #[serde(skip_serializing_if = "is_zero")]
    pub budget_notices: usize,
    /// Routes named in the drift digest this tick sent (0: none sent).
    pub drift_routes: usize,
    pub duration_ms: u64,
    /// The findings themselves (moved out of the analysis once published), for callers
    /// that measure them; not part of the Lambda's response.
    #[serde(skip)]
    pub findings: Vec<crate::model::finding::Finding>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The ports one monitor works through.
#[derive(Clone)]
pub struct Ports {
    pub incidents: Arc<dyn IncidentStore>,
    pub claims: Arc<dyn BatchClaims>,
    /// Halves of split requests, shared by every container; `None`: each container
    /// keeps its own (no join).
    pub halves: Option<Arc<dyn SplitHalves>>,
    /// Where split requests and backend runs are looked up; `None`: no lookups.
    pub lookup: Option<Arc<dyn LogLookup>>,
    pub metrics: Arc<dyn MetricsOut>,
    /// Every notification goes to each, in order.
    pub notifiers: Vec<Arc<dyn Notifier>>,
    /// Configuration changes, shared by every container; `None`: change events are off.
    pub changes: Option<Arc<dyn changes::ChangeStore>>,
    /// Error-budget counts and notices; `None`: no SLOs.
    pub budget: Option<Arc<dyn budget::BudgetStore>>,
    /// Daily latency histograms, shared by every container; `None`: drift is off.
    pub daily_latency: Option<Arc<dyn DailyLatencyStore>>,
}

impl Ports {
    /// Everything in this process: this container's own state, what would be sent
    /// recorded in `recorder` (the CLI's dry run, tests).
    pub fn in_memory(recorder: &Arc<Recorder>) -> Ports {
        let store = Arc::new(MemoryStore::default());
        Ports {
            incidents: store.clone(),
            claims: store.clone(),
            daily_latency: Some(store.clone()),
            halves: None,
            lookup: None,
            metrics: recorder.clone(),
            notifiers: vec![recorder.clone()],
            changes: None,
            budget: Some(store),
        }
    }

    /// As [`Ports::in_memory`], with state shared by several monitors in this process:
    /// what the DynamoDB table gives containers, for simulations of many containers.
    pub fn shared_memory(store: &Arc<MemoryStore>, recorder: &Arc<Recorder>) -> Ports {
        Ports::in_memory(recorder).with_shared_state(store.clone())
    }

    /// Incidents, claims and split halves all in `store`, which every container shares.
    pub fn with_shared_state<S>(mut self, store: Arc<S>) -> Ports
    where
        S: IncidentStore
            + BatchClaims
            + SplitHalves
            + budget::BudgetStore
            + DailyLatencyStore
            + 'static,
    {
        self.incidents = store.clone();
        if self.daily_latency.is_some() {
            self.daily_latency = Some(store.clone());
        }
        self.claims = store.clone();
        self.budget = Some(store.clone());
        self.halves = Some(store);
        self
    }

    pub fn with_lookup(mut self, lookup: Option<Arc<dyn LogLookup>>) -> Ports {
        self.lookup = lookup;
        self
    }

    /// Daily latency histograms in `days` (`None`: drift off).
    pub fn with_daily_latency(mut self, days: Option<Arc<dyn DailyLatencyStore>>) -> Ports {
        self.daily_latency = days;
        self
    }

    pub fn with_changes(mut self, changes: Option<Arc<dyn changes::ChangeStore>>) -> Ports {
        self.changes = changes;
        self
    }
}

/// What the warm container remembers between invocations.
struct WarmState {
    pending: PendingRequests,
    seen: SeenEvents,
    /// Batches whose metrics went out although the invocation failed later:
    /// a retry in this container does not count them twice.
    metrics_sent: HashSet<String>,
    /// Execution log groups seen here: the function reads them, so they may be looked up.
    exec_groups: HashSet<String>,
    /// Waiting requests whose start half is in the state table ([`join`]).
    starts_written: HashSet<String>,
}

pub struct Monitor {
    settings: Settings,
    ports: Ports,
    state: Mutex<WarmState>,
    /// The function's own account (from the invoked function's ARN): requests from other
    /// accounts have their evidence looked up there (`accounts`). Unknown: all own.
    own_account: std::sync::OnceLock<String>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Monitor {
    pub fn new(settings: Settings, ports: Ports) -> Monitor {
        let state = WarmState {
            pending: PendingRequests::new(
                settings.ingest.pending_ttl_secs,
                settings.ingest.pending_max_requests,
            ),
            seen: SeenEvents::new(SEEN_EVENTS_SECS, SEEN_EVENTS_MAX),
            metrics_sent: HashSet::new(),
            exec_groups: HashSet::new(),
            starts_written: HashSet::new(),
        };
        Monitor {
            settings,
            ports,
            state: Mutex::new(state),
            own_account: std::sync::OnceLock::new(),
        }
    }

    /// Learns the function's own account from its ARN (the invocation's
    /// `invoked_function_arn`); the first one known stays.
    pub fn learn_own_account(&self, function_arn: &str) {
        if let Some(account) = crate::model::scope::arn_account(function_arn) {
            let _ = self.own_account.set(account.to_owned());
        }
    }

    pub fn own_account(&self) -> Option<&str> {
        self.own_account.get().map(String::as_str)
    }

    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// Looks split requests and backend runs up through `lookup` (`None`: never).
    pub fn with_lookup(mut self, lookup: Option<Arc<dyn LogLookup>>) -> Monitor {
        self.ports.lookup = lookup;
        self
    }

    /// Handles one payload. `deadline` is when the invocation is stopped.
    pub async fn handle(
        &self,
        event: &[u8],
        deadline: Option<Instant>,
    ) -> Result<InvocationSummary, HandlerError> {
        self.handle_at(event, deadline, now_ms()).await
    }

    pub async fn handle_at(
        &self,
        event: &[u8],
        deadline: Option<Instant>,
        now: i64,
    ) -> Result<InvocationSummary, HandlerError> {
        let started = Instant::now();
        if let Some(recorded) = self.record_change(event, now).await {
            let mut s = recorded?;
            s.duration_ms = started.elapsed().as_millis() as u64;
            return Ok(s);
        }
        if ingest::is_schedule(event) {
            let mut s = self.resolve_quiet(deadline, now).await?;
            s.duration_ms = started.elapsed().as_millis() as u64;
            return Ok(s);
        }
        let streamed = match self.analyse(event, now) {
            Ok(s) => s,
            Err(e) => return Err(self.reject(e, deadline, now).await),
        };
        let batch_key = ingest::batch_key(&streamed.event_ids);

        // The batch, once across containers: a redelivery another container is handling
        // (or has handled) is skipped whole, before anything is looked up or joined.
        let mut state_errors = 0;
        if !streamed.event_ids.is_empty() {
            match self.ports.claims.claim_batch(&batch_key, now).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(batch = %batch_key, "batch already handled by another invocation: skipped");
                    let mut st = self.lock();
                    st.pending.keep(streamed.earlier, now);
                    return Ok(InvocationSummary {
                        duplicate_events: streamed.duplicates
                            + streamed.analyzer.counters().log_events,
                        duplicate_batch: true,
                        pending_requests: st.pending.len(),
                        duration_ms: started.elapsed().as_millis() as u64,
                        ..InvocationSummary::default()
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim the batch in the state table: handled anyway");
                    state_errors += 1;
                }
            }
        }
        let evidence::Analysed {
            mut analysis,
            event_ids,
            earlier,
            duplicates,
            healing,
            joining,
            backend_lookups,
        } = self.complete(streamed, deadline, now).await;
        state_errors += joining.failed as u64;

        let lookups_skipped = healing.skipped + backend_lookups.skipped;
        let result = self
            .publish(&analysis, &batch_key, lookups_skipped, deadline, now)
            .await;
        let ok = result.is_ok();
        if !event_ids.is_empty() {
            if let Err(e) = self.ports.claims.finish_batch(&batch_key, ok, now).await {
                tracing::warn!(error = %e, ok, "could not record the batch's outcome in the state table");
                state_errors += 1;
            }
        }
        let mut summary = match result {
            Ok(s) => s,
            Err(e) => {
                // Give the earlier partial requests back: the retry needs them again.
                self.lock().pending.keep(earlier, now);
                self.count_state_errors(state_errors, deadline, now).await;
                return Err(e.into());
            }
        };
        {
            let mut st = self.lock();
            st.seen.insert_all(event_ids.iter().copied(), now);
            st.metrics_sent.remove(&batch_key);
            summary.pending_requests = st.pending.len();
        }
        summary.analysis = analysis.summary.clone();
        summary.duplicate_events = duplicates;
        summary.healing = healing;
        summary.joining = joining;
        summary.backend_lookups = backend_lookups;
        summary.findings = std::mem::take(&mut analysis.findings);
        summary.state_errors += state_errors;
        self.count_state_errors(summary.state_errors, deadline, now)
            .await;
        summary.duration_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }

    /// Step 2: metrics, then incidents and their notifications.
    async fn publish(
        &self,
        analysis: &Analysis,
        batch_key: &str,
        lookups_skipped: usize,
        deadline: Option<Instant>,
        now: i64,
    ) -> Result<InvocationSummary, PublishError> {
        let (metric_calls, metric_data) = self
            .publish_metrics(analysis, batch_key, lookups_skipped, deadline, now)
            .await?;
        let groups = self.incident_groups(analysis);
        let tracked = self.track(&groups, now).await;
        for g in &groups {
            tracing::info!(api_id = %g.key.api_id, stage = %g.key.stage, kind = %g.key.kind, backend = g.key.backend.as_deref().unwrap_or(""), findings = g.affected, "incident observed");
        }
        let mut state_errors = tracked.state_errors;
        let sent = self
            .notify(tracked.steps, deadline, now, &mut state_errors)
            .await;
        let sent = match sent {
            Ok(n) => n,
            Err(e) => {
                self.count_state_errors(state_errors, deadline, now).await;
                return Err(e);
            }
        };
        state_errors += self.count_route_traffic(analysis, &groups, now).await;
        state_errors += self.count_budget(analysis).await;
        state_errors += self.count_daily_latency(analysis, now).await;
        Ok(InvocationSummary {
            incidents: tracked.incidents,
            alerts_sent: sent,
            alerts_held: tracked.held,
            state_errors,
            metric_calls,
            metric_data,
            ..InvocationSummary::default()
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WarmState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
