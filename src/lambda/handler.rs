//! One invocation of the Lambda: decode, analyse, publish metrics, track incidents,
//! notify. The engine does the thinking; this module sequences it in small steps,
//! keeps the warm container's memory, and decides what a failure means for Lambda's
//! retry. A schedule event (EventBridge, every minute) resolves quiet incidents.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::aws::lookup::LogLookup;
use crate::aws::publish::{cloudwatch, sns, PublishError, Published, Sink};
use crate::aws::state::{StateError, StateStore, Store};
use crate::engine::analysis::{Analysis, Analyzer, Summary};
use crate::engine::incidents::{self, Incident, IncidentGroup, Status};
use crate::lambda::config::{Config, MetricsMode};
use crate::lambda::pending::PendingRequests;
use crate::lambda::seen_events::{self, SeenEvents};
use crate::logs::envelope::{self, EnvelopeError};
use crate::model::finding::Finding;
use crate::model::kind::Kind;
use crate::render::alert::{self, AlertContext, Notice, Rendered};
use crate::render::metrics::{self, Datum, Health, MetricBatch, Unit};

/// Time kept back from the deadline for returning the result.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);
/// Cap on remembered event ids (64-bit hashes: ~1.6 MB at most).
const SEEN_EVENTS_MAX: usize = 100_000;
/// How long this container remembers event ids it handled.
const SEEN_EVENTS_SECS: u64 = 3600;
/// Conditional-write attempts per incident before giving up on the shared state.
const STATE_ATTEMPTS: usize = 4;
/// The metric that counts failed state-store calls (each fell back to sending).
pub const STATE_ERRORS: &str = "StateErrors";

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The batch cannot be decoded. Retrying cannot help; the failure destination keeps it.
    #[error("batch rejected: {0}")]
    Rejected(#[from] Box<EnvelopeError>),
    /// Sending failed; a retry may succeed.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

impl HandlerError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, HandlerError::Publish(_))
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
    /// Split requests looked up and healed (`aws::lookup`).
    pub healing: crate::lambda::heal::Healing,
    /// Split requests joined through the state table (`lambda::join`).
    pub joining: crate::lambda::join::Joining,
    /// Backend function runs looked up for timeouts (`aws::backend_lookup`).
    pub backend_lookups: crate::aws::backend_lookup::BackendLookups,
    pub duration_ms: u64,
    /// The findings themselves (moved out of the analysis once published), for callers
    /// that measure them; not part of the Lambda's response.
    #[serde(skip)]
    pub findings: Vec<crate::model::finding::Finding>,
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
    /// Waiting requests whose start half is in the state table (`lambda::join`).
    starts_written: HashSet<String>,
}

pub struct Monitor {
    config: Config,
    sink: Sink,
    store: Store,
    context: AlertContext,
    state: Mutex<WarmState>,
    /// Where split requests are looked up; `None`: `LOG_LOOKUP=off` (or a dry run).
    lookup: Option<Arc<dyn LogLookup>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A decision about one incident, made against the store, to be notified.
struct Step<'a> {
    status: Status,
    incident: Incident,
    findings: Vec<&'a Finding>,
    before: Option<(u64, usize)>,
    possibly_duplicate: bool,
    /// What the store held before this step (`None`: nothing), to put back if the
    /// notification cannot be sent, so that Lambda's retry sends it.
    previous: Option<Incident>,
    /// Whether this step wrote the store (a fallback after a state error did not).
    written: bool,
}

/// The outcome of tracking one batch's incidents.
#[derive(Default)]
struct Tracked<'a> {
    steps: Vec<Step<'a>>,
    incidents: usize,
    held: usize,
    state_errors: u64,
}

/// Whether the payload is the schedule's tick rather than a log batch: an EventBridge
/// scheduled event, or `{"apigw-doctor": "resolve"}` (for a manual run).
pub fn is_schedule(event: &[u8]) -> bool {
    if event.len() > 16 * 1024 {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(event) else {
        return false;
    };
    v.get("detail-type").and_then(|d| d.as_str()) == Some("Scheduled Event")
        || matches!(
            v.get("source").and_then(|d| d.as_str()),
            Some("aws.events" | "aws.scheduler")
        )
        || v.get("apigw-doctor").and_then(|d| d.as_str()) == Some("resolve")
}

/// The account in an ARN (`arn:aws:sns:us-east-1:123456789012:name`).
fn arn_account(arn: &str) -> Option<String> {
    let a = arn.split(':').nth(4)?;
    (a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())).then(|| a.to_owned())
}

impl Monitor {
    /// The handler with this process's memory as incident state.
    pub fn new(config: Config, sink: Sink) -> Monitor {
        Monitor::with_store(config, sink, Store::memory())
    }

    pub fn with_store(config: Config, sink: Sink, store: Store) -> Monitor {
        let state = WarmState {
            pending: PendingRequests::new(config.pending_ttl_secs, config.pending_max_requests),
            seen: SeenEvents::new(SEEN_EVENTS_SECS, SEEN_EVENTS_MAX),
            metrics_sent: HashSet::new(),
            exec_groups: HashSet::new(),
            starts_written: HashSet::new(),
        };
        let context = AlertContext {
            account: config.alert_topic_arn.as_deref().and_then(arn_account),
            region: config.engine.region.clone(),
            runbook_url: config.runbook_url.clone(),
            api_names: config.api_names.clone(),
            dashboard_name: config.dashboard_name.clone(),
        };
        Monitor {
            config,
            sink,
            store,
            context,
            state: Mutex::new(state),
            lookup: None,
        }
    }

    /// Heals split requests through `lookup`, unless `LOG_LOOKUP=off`.
    pub fn with_lookup(mut self, lookup: Arc<dyn LogLookup>) -> Monitor {
        self.lookup = self.config.log_lookup.then_some(lookup);
        self
    }

    pub fn sink(&self) -> &Sink {
        &self.sink
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Handles one Lambda payload. `deadline` is when Lambda stops the invocation.
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
        if is_schedule(event) {
            let mut s = self.resolve_quiet(deadline, now).await?;
            s.duration_ms = started.elapsed().as_millis() as u64;
            return Ok(s);
        }
        let streamed = match self.analyse(event, now) {
            Ok(s) => s,
            Err(e) => return Err(self.reject(e, deadline, now).await),
        };
        let batch_key = batch_key(&streamed.event_ids);

        // The batch, once across containers: a redelivery another container is handling
        // (or has handled) is skipped whole, before anything is looked up or joined.
        let mut state_errors = 0;
        if !streamed.event_ids.is_empty() {
            match self.store.claim_batch(&batch_key, now).await {
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
        let Analysed {
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
            if let Err(e) = self.store.finish_batch(&batch_key, ok, now).await {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, WarmState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Step 1: decode the payload and stream its events into the engine, under the
    /// warm state's lock (invocations of one container never overlap).
    fn analyse(&self, event: &[u8], now: i64) -> Result<Streamed<'_>, EnvelopeError> {
        let cfg = &self.config;
        let inflated = envelope::decode_lambda_event(event, cfg.max_decompressed_bytes)?;
        for i in &inflated {
            if i.trailing_garbage > 0 {
                tracing::warn!(origin = %i.origin, bytes = i.trailing_garbage, "ignored bytes after the last gzip member");
            }
        }
        let mut guard = self.lock();
        let st = &mut *guard;
        let earlier = st.pending.take(now);
        let mut feed = Feed {
            analyzer: Analyzer::new(&cfg.engine).with_earlier(earlier.iter().cloned()),
            seen: &st.seen,
            now,
            own_log_group: cfg.own_log_group.as_deref(),
            ids: Vec::new(),
            duplicates: 0,
            skip_document: false,
            exec_groups: &mut st.exec_groups,
        };
        let streamed = inflated
            .iter()
            .try_for_each(|i| envelope::visit_documents(&i.bytes, &i.origin, &mut feed).map(drop));
        // The requests own what they keep: the batch's buffers can go before `finish`.
        drop(inflated);
        match streamed {
            Ok(()) => Ok(Streamed {
                analyzer: feed.analyzer,
                event_ids: feed.ids,
                earlier,
                duplicates: feed.duplicates,
            }),
            Err(e) => {
                // Nothing of a rejected batch counts; the partial requests wait on.
                st.pending.keep(earlier, now);
                Err(e)
            }
        }
    }

    /// Step 1b: split requests joined through the state table and healed (their early
    /// lines fetched back; no lock held while waiting), the analysis finished, backend
    /// runs of timeouts looked up within what healing left.
    async fn complete(&self, s: Streamed<'_>, deadline: Option<Instant>, now: i64) -> Analysed {
        let cfg = &self.config;
        let Streamed {
            mut analyzer,
            event_ids,
            earlier,
            duplicates,
        } = s;
        let joining = if cfg.split_join && self.store.is_shared() {
            // Taken, not copied: invocations of one container never overlap.
            let mut written = std::mem::take(&mut self.lock().starts_written);
            let (joining, newly) =
                crate::lambda::join::join(&mut analyzer, &self.store, &written, deadline, now)
                    .await;
            written.extend(newly);
            self.lock().starts_written = written;
            joining
        } else {
            crate::lambda::join::Joining::default()
        };
        let subscribed = self.lock().exec_groups.clone();
        let bounds = crate::lambda::heal::Bounds {
            budget: cfg.log_lookups_max,
            until: lookups_until(deadline),
            limits: &cfg.engine.limits,
            subscribed: &subscribed,
        };
        let healing =
            crate::lambda::heal::heal(&mut analyzer, self.lookup.as_ref(), &event_ids, bounds)
                .await;
        let (mut analysis, pending) = analyzer.finish();
        healing.annotate(&mut analysis);
        let backend_lookups = crate::aws::backend_lookup::look_up(
            &mut analysis.findings,
            self.lookup.as_ref(),
            &cfg.backend_function_names,
            cfg.log_lookups_max.saturating_sub(healing.lookups),
            lookups_until(deadline),
        )
        .await;
        {
            let mut st = self.lock();
            st.pending.keep(pending, now);
            // Only the requests still waiting need to remember that their start is written.
            let WarmState {
                pending,
                starts_written,
                ..
            } = &mut *st;
            if !starts_written.is_empty() {
                starts_written.retain(|id| pending.contains(id));
            }
        }
        Analysed {
            analysis,
            event_ids,
            earlier,
            duplicates,
            healing,
            joining,
            backend_lookups,
        }
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

    /// The batch's metric data, once per batch in this container.
    async fn publish_metrics(
        &self,
        analysis: &Analysis,
        batch_key: &str,
        lookups_skipped: usize,
        deadline: Option<Instant>,
        now: i64,
    ) -> Result<(usize, usize), PublishError> {
        let cfg = &self.config;
        let health = Health {
            log_events: analysis.summary.log_events,
            batches_rejected: 0,
            lookups_skipped: lookups_skipped as u64,
        };
        let batch = metrics::build(analysis, &cfg.metrics_namespace, now, health);
        if batch.dropped_out_of_range > 0 {
            tracing::warn!(
                dropped = batch.dropped_out_of_range,
                "metric data outside CloudWatch's accepted time range (older than 14 days or in the future) were not sent"
            );
        }
        let already = self.lock().metrics_sent.contains(batch_key);
        let calls = if already {
            tracing::info!(
                "metrics of this batch were sent by an earlier, failed try: not sent again"
            );
            0
        } else {
            let n = self.send_metrics(&batch, deadline).await?;
            self.lock().metrics_sent.insert(batch_key.to_owned());
            n
        };
        Ok((calls, batch.data.len()))
    }

    /// The findings as incidents; near-limit incidents need NEAR_LIMIT_ALERT_MIN findings.
    fn incident_groups<'a>(&self, analysis: &'a Analysis) -> Vec<IncidentGroup<'a>> {
        incidents::group_analysis(analysis)
            .into_iter()
            .filter(|g| {
                let keep =
                    g.key.kind != Kind::NearLimit || g.affected >= self.config.near_limit_alert_min;
                if !keep {
                    tracing::info!(api_id = %g.key.api_id, stage = %g.key.stage, findings = g.affected, "near-limit requests below NEAR_LIMIT_ALERT_MIN: no incident");
                }
                keep
            })
            .collect()
    }

    /// Step 3: each group against the store, with conditional writes (read, decide,
    /// write if nobody wrote in between; else read again). A failing store falls back
    /// to `firing`, marked as possibly duplicate: an alert is never lost to it.
    async fn track<'a>(&self, groups: &[IncidentGroup<'a>], now: i64) -> Tracked<'a> {
        let mut out = Tracked {
            incidents: groups.len(),
            ..Tracked::default()
        };
        for g in groups {
            match self.track_one(g, now).await {
                Ok(steps) => {
                    if !steps.iter().any(|s| s.status != Status::Resolved) {
                        out.held += 1;
                    }
                    out.steps.extend(steps);
                }
                Err(e) => {
                    tracing::warn!(error = %e, api_id = %g.key.api_id, stage = %g.key.stage, kind = %g.key.kind, "incident state unavailable: notifying as possibly duplicate");
                    out.state_errors += 1;
                    let o = incidents::observe(None, g, now, self.config.lifecycle);
                    out.steps.push(Step {
                        status: Status::Firing,
                        incident: o.next,
                        findings: g.findings.clone(),
                        before: None,
                        possibly_duplicate: true,
                        previous: None,
                        written: false,
                    });
                }
            }
        }
        out
    }

    async fn track_one<'a>(
        &self,
        g: &IncidentGroup<'a>,
        now: i64,
    ) -> Result<Vec<Step<'a>>, StateError> {
        let key = g.key.store_key();
        for _ in 0..STATE_ATTEMPTS {
            let existing = self.store.get(&key).await?;
            let o = incidents::observe(existing.as_ref(), g, now, self.config.lifecycle);
            let expected = existing.as_ref().map_or(0, |e| e.version);
            if !self.store.put(&o.next, expected).await? {
                continue; // another container wrote first: read again
            }
            let mut steps = Vec::new();
            if let Some(old) = o.resolved {
                steps.push(Step {
                    status: Status::Resolved,
                    incident: old,
                    findings: Vec::new(),
                    before: None,
                    possibly_duplicate: false,
                    previous: None,
                    written: false,
                });
            }
            if let Some(status) = o.notify {
                steps.push(Step {
                    status,
                    incident: o.next,
                    findings: g.findings.clone(),
                    before: existing
                        .as_ref()
                        .map(|e| (e.notified_affected, e.notified_routes)),
                    possibly_duplicate: false,
                    previous: if status == Status::Firing {
                        None
                    } else {
                        existing
                    },
                    written: true,
                });
            }
            return Ok(steps);
        }
        Err(StateError::Dynamo {
            op: "conditional write",
            table: String::new(),
            message: format!("{STATE_ATTEMPTS} attempts lost to concurrent writers"),
        })
    }

    /// The schedule's tick: resolves every incident quiet for INCIDENT_RESOLVE_SECONDS.
    async fn resolve_quiet(
        &self,
        deadline: Option<Instant>,
        now: i64,
    ) -> Result<InvocationSummary, HandlerError> {
        let mut state_errors = 0;
        let mut steps = Vec::new();
        match self.store.open().await {
            Ok(open) => {
                for inc in open {
                    if !incidents::resolve_due(&inc, now, self.config.lifecycle) {
                        continue;
                    }
                    match self.store.remove(&inc.key.store_key(), inc.version).await {
                        Ok(true) => steps.push(Step {
                            status: Status::Resolved,
                            previous: Some(inc.clone()),
                            incident: inc,
                            findings: Vec::new(),
                            before: None,
                            possibly_duplicate: false,
                            written: true,
                        }),
                        Ok(false) => {} // it got a new finding meanwhile, or another tick resolved it
                        Err(e) => {
                            tracing::warn!(error = %e, "could not resolve an incident");
                            state_errors += 1;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the open incidents");
                state_errors += 1;
            }
        }
        let resolved = steps.len();
        let sent = self.notify(steps, deadline, now, &mut state_errors).await?;
        self.count_state_errors(state_errors, deadline, now).await;
        Ok(InvocationSummary {
            resolved,
            alerts_sent: sent,
            state_errors,
            ..InvocationSummary::default()
        })
    }

    /// Step 4: renders and sends the notifications, `resolved` first, at most
    /// MAX_ALERTS_PER_INVOCATION (the rest in one summary). A notification that cannot
    /// be sent has its step undone in the store, so that Lambda's retry sends it.
    async fn notify(
        &self,
        mut steps: Vec<Step<'_>>,
        deadline: Option<Instant>,
        now: i64,
        state_errors: &mut u64,
    ) -> Result<usize, PublishError> {
        steps.sort_by_key(|s| (s.status != Status::Resolved, s.incident.severity));
        let cap = self.config.max_alerts_per_invocation;
        let individual = if steps.len() > cap {
            cap.saturating_sub(1)
        } else {
            steps.len()
        };
        let notices: Vec<Notice<'_>> = steps
            .iter()
            .map(|s| Notice {
                status: s.status,
                incident: &s.incident,
                findings: s.findings.clone(),
                before: s.before,
                possibly_duplicate: s.possibly_duplicate,
                now,
            })
            .collect();
        let mut rendered: Vec<(Rendered, std::ops::Range<usize>)> = notices[..individual]
            .iter()
            .enumerate()
            .map(|(i, n)| (alert::render(n, &self.context_for(n.incident)), i..i + 1))
            .collect();
        if individual < notices.len() {
            rendered.push((
                alert::render_summary(&notices[individual..], now),
                individual..notices.len(),
            ));
        }
        let mut sent = 0;
        for (k, (r, covers)) in rendered.iter().enumerate() {
            let result = self.send_alert(r, deadline).await;
            if let Err(e) = result {
                // This one and the rest were not sent: undo their steps.
                let unsent = rendered[k..].iter().flat_map(|(_, c)| c.clone());
                for i in unsent {
                    if let Err(se) = self.undo(&steps[i]).await {
                        tracing::warn!(error = %se, "could not undo an incident step after a failed send");
                        *state_errors += 1;
                    }
                }
                return Err(e);
            }
            sent += usize::from(result.is_ok_and(|went| went) && !covers.is_empty());
        }
        Ok(sent)
    }

    /// The alert context, with the account and region from the incident's backend when
    /// the settings do not give them.
    fn context_for(&self, i: &Incident) -> AlertContext {
        let mut ctx = self.context.clone();
        if ctx.account.is_none() {
            if let Some(crate::model::backend::Backend::Lambda { function_arn, .. }) = &i.backend {
                ctx.account = arn_account(function_arn);
            }
        }
        if ctx.region.is_none() {
            ctx.region = i
                .backend
                .as_ref()
                .and_then(crate::model::backend::Backend::region)
                .map(str::to_owned);
        }
        ctx
    }

    /// Puts back what the store held before a step whose notification was not sent.
    async fn undo(&self, step: &Step<'_>) -> Result<(), StateError> {
        if !step.written {
            return Ok(());
        }
        let key = step.incident.key.store_key();
        match (&step.previous, step.status) {
            // The incident was deleted (resolved): put it back.
            (Some(prev), Status::Resolved) => {
                let mut back = prev.clone();
                back.version += 1;
                self.store.put(&back, 0).await.map(drop)
            }
            (Some(prev), _) => {
                let mut back = prev.clone();
                back.version = step.incident.version + 1;
                self.store.put(&back, step.incident.version).await.map(drop)
            }
            (None, _) => self
                .store
                .remove(&key, step.incident.version)
                .await
                .map(drop),
        }
    }

    /// Publishes one rendering; `false`: there is no topic, so it was only logged.
    async fn send_alert(
        &self,
        r: &Rendered,
        deadline: Option<Instant>,
    ) -> Result<bool, PublishError> {
        if self.sink.record(Published::Alert(r.clone())) {
            return Ok(true);
        }
        match (&self.sink, &self.config.alert_topic_arn) {
            (Sink::Aws { sns: client, .. }, Some(topic)) => {
                let remaining =
                    remaining(deadline).ok_or(PublishError::Deadline("publish alerts"))?;
                tokio::time::timeout(remaining, sns::publish(client, topic, r))
                    .await
                    .map_err(|_| PublishError::Deadline("publish alerts"))??;
                Ok(true)
            }
            _ => {
                tracing::warn!(alert_id = %r.id, subject = %r.subject, automation = %r.automation, "incident (no ALERT_TOPIC_ARN set, not sent)");
                Ok(false)
            }
        }
    }

    /// `StateErrors`: each failed state call (the alert went out regardless).
    async fn count_state_errors(&self, n: u64, deadline: Option<Instant>, now: i64) {
        if n == 0 {
            return;
        }
        let batch = MetricBatch {
            namespace: self.config.metrics_namespace.clone(),
            data: vec![Datum {
                name: STATE_ERRORS,
                unit: Unit::Count,
                dimensions: Vec::new(),
                timestamp_ms: now.div_euclid(60_000) * 60_000,
                values: vec![n as f64],
                counts: vec![1.0],
            }],
            dropped_out_of_range: 0,
        };
        if let Err(e) = self.send_metrics(&batch, deadline).await {
            tracing::warn!(error = %e, "could not count the state errors");
        }
    }

    async fn send_metrics(
        &self,
        batch: &MetricBatch,
        deadline: Option<Instant>,
    ) -> Result<usize, PublishError> {
        match self.config.metrics_mode {
            MetricsMode::Off => Ok(0),
            MetricsMode::Emf => {
                let lines = metrics::emf_lines(batch);
                if !self.sink.record(Published::Emf(lines.clone())) {
                    for l in lines {
                        println!("{l}");
                    }
                }
                Ok(0)
            }
            MetricsMode::Api => {
                if self.sink.record(Published::Metrics(batch.clone())) {
                    return Ok(metrics::pack(&batch.data).len());
                }
                let Sink::Aws {
                    cloudwatch: client, ..
                } = &self.sink
                else {
                    return Ok(0);
                };
                let remaining =
                    remaining(deadline).ok_or(PublishError::Deadline("publish metrics"))?;
                tokio::time::timeout(remaining, cloudwatch::put(client, batch))
                    .await
                    .map_err(|_| PublishError::Deadline("publish metrics"))?
            }
        }
    }

    /// A batch that cannot be decoded: logged with its context, counted, and failed.
    async fn reject(&self, e: EnvelopeError, deadline: Option<Instant>, now: i64) -> HandlerError {
        let o = e.origin();
        tracing::error!(
            error = %e,
            location = %o.location,
            log_group = o.log_group.as_deref().unwrap_or(""),
            log_stream = o.log_stream.as_deref().unwrap_or(""),
            first_event_id = o.first_event_id.as_deref().unwrap_or(""),
            "batch rejected: it goes to the failure destination for inspection"
        );
        let empty = crate::engine::analysis::Analyzer::new(&self.config.engine)
            .finish()
            .0;
        let batch = metrics::build(
            &empty,
            &self.config.metrics_namespace,
            now,
            Health {
                log_events: 0,
                batches_rejected: 1,
                lookups_skipped: 0,
            },
        );
        if let Err(pe) = self.send_metrics(&batch, deadline).await {
            tracing::warn!(error = %pe, "could not count the rejected batch");
        }
        HandlerError::Rejected(Box::new(e))
    }
}

/// What step 1 streamed: the engine before `finish`, so that healing can feed it.
struct Streamed<'c> {
    analyzer: Analyzer<'c>,
    event_ids: Vec<u64>,
    earlier: Vec<crate::engine::request::Request>,
    duplicates: u64,
}

/// What step 1b hands on.
struct Analysed {
    analysis: Analysis,
    event_ids: Vec<u64>,
    earlier: Vec<crate::engine::request::Request>,
    duplicates: u64,
    healing: crate::lambda::heal::Healing,
    joining: crate::lambda::join::Joining,
    backend_lookups: crate::aws::backend_lookup::BackendLookups,
}

/// Lookups end this long before the deadline: publishing comes after them.
const LOOKUP_RESERVE: Duration = Duration::from_secs(10);
/// Without a deadline (tests, an emulator), lookups get this long.
const LOOKUP_DEFAULT: Duration = Duration::from_secs(10);

fn lookups_until(deadline: Option<Instant>) -> Option<Instant> {
    Some(match deadline {
        None => Instant::now() + LOOKUP_DEFAULT,
        Some(d) => d.checked_sub(LOOKUP_RESERVE).unwrap_or_else(Instant::now),
    })
}

fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    match deadline {
        None => Some(Duration::from_secs(60)),
        Some(d) => d
            .checked_duration_since(Instant::now())?
            .checked_sub(DEADLINE_MARGIN),
    }
}

/// Identifies a batch by its events (stable across redeliveries).
/// Streams a batch's events into the engine, skipping events already handled (a
/// redelivered batch) and documents from this function's own log group.
struct Feed<'a, 'c> {
    analyzer: Analyzer<'c>,
    seen: &'a SeenEvents,
    now: i64,
    own_log_group: Option<&'a str>,
    ids: Vec<u64>,
    duplicates: u64,
    skip_document: bool,
    exec_groups: &'a mut HashSet<String>,
}

impl<'d> envelope::EventVisitor<'d> for Feed<'_, '_> {
    fn document(&mut self, header: &envelope::Header<'d>) {
        self.skip_document = self.own_log_group == Some(&*header.log_group);
        if header
            .log_group
            .starts_with(crate::logs::execution_log::GROUP_PREFIX)
            && !self.exec_groups.contains(&*header.log_group)
        {
            self.exec_groups.insert(header.log_group.to_string());
        }
        if self.skip_document {
            tracing::warn!(log_group = %header.log_group, "ignored a batch from this function's own log group: remove that subscription");
        } else {
            self.skip_document = !self.analyzer.start_document(header);
        }
    }

    fn event(&mut self, header: &envelope::Header<'d>, event: envelope::LogEvent<'d>) {
        if self.take(header, &event.id) {
            self.analyzer.add_log_event(header, &event);
        }
    }

    fn escaped_event(
        &mut self,
        header: &envelope::Header<'d>,
        id: Cow<'d, str>,
        ts: i64,
        escaped: &'d str,
    ) {
        if self.take(header, &id) {
            self.analyzer.add_escaped_event(header, &id, ts, escaped);
        }
    }

    fn event_in_place(
        &mut self,
        header: &envelope::Header<'d>,
        id: &str,
        ts: i64,
        rest: &'d str,
    ) -> Option<usize> {
        // Only an event the engine is to see; any other takes the usual way (`take`).
        let key = seen_events::key(id);
        if self.skip_document
            || self.own_log_group == Some(&*header.log_group)
            || key.is_some_and(|k| self.seen.contains(k, self.now))
        {
            return None;
        }
        let len = self.analyzer.add_access_in_place(header, id, ts, rest)?;
        self.ids.extend(key);
        Some(len)
    }
}

impl Feed<'_, '_> {
    /// Records the event's id; false when the engine is not to see it.
    fn take(&mut self, header: &envelope::Header<'_>, id: &str) -> bool {
        if self.own_log_group == Some(&*header.log_group) {
            return false;
        }
        // Kept as hashes (what `SeenEvents` remembers), not as copies of the ids.
        let key = seen_events::key(id);
        self.ids.extend(key);
        if self.skip_document {
            return false;
        }
        if key.is_some_and(|k| self.seen.contains(k, self.now)) {
            self.duplicates += 1;
            return false;
        }
        true
    }
}

/// Names a batch by its events (their [`seen_events::key`]s), for a retry in this container.
fn batch_key(ids: &[u64]) -> String {
    let h = alert::fnv1a(ids.iter().flat_map(|k| k.to_le_bytes()));
    format!("batch-{h:016x}-{}", ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_ticks_are_told_from_log_batches() {
        assert!(is_schedule(
            br#"{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#
        ));
        assert!(is_schedule(br#"{"apigw-doctor":"resolve"}"#));
        assert!(!is_schedule(br#"{"awslogs":{"data":"H4sI"}}"#));
        assert!(!is_schedule(br#"{"Records":[]}"#));
        assert!(!is_schedule(b"not json"));
        assert_eq!(
            arn_account("arn:aws:sns:us-east-1:123456789012:t").as_deref(),
            Some("123456789012")
        );
        assert_eq!(arn_account("arn:aws:sns:us-east-1::t"), None);
    }
}
