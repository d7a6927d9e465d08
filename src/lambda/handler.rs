//! One invocation of the Lambda: decode, analyse, publish. The engine does the
//! thinking; this module sequences it, keeps the warm container's memory, and
//! decides what a failure means for Lambda's retry.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::aws::lookup::LogLookup;
use crate::aws::publish::{cloudwatch, sns, PublishError, Published, Sink};
use crate::engine::analysis::{Analyzer, Summary};
use crate::lambda::config::{Config, MetricsMode};
use crate::lambda::pending::PendingRequests;
use crate::lambda::seen_events::{self, SeenEvents};
use crate::logs::envelope::{self, EnvelopeError};
use crate::render::alert::{self, AlertState, Policy};
use crate::render::metrics::{self, Health, MetricBatch};

/// Time kept back from the deadline for returning the result.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);
/// Cap on remembered event ids (64-bit hashes: ~1.6 MB at most).
const SEEN_EVENTS_MAX: usize = 100_000;

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
    pub alerts_sent: usize,
    pub alerts_held: usize,
    pub metric_calls: usize,
    pub metric_data: usize,
    pub pending_requests: usize,
    /// Split requests looked up and healed (`aws::lookup`).
    pub healing: crate::lambda::heal::Healing,
    /// Backend function runs looked up for timeouts (`aws::backend_lookup`).
    pub backend_lookups: crate::aws::backend_lookup::BackendLookups,
    pub duration_ms: u64,
    /// The findings themselves (moved out of the analysis once published), for callers
    /// that measure them; not part of the Lambda's response.
    #[serde(skip)]
    pub findings: Vec<crate::engine::analysis::Finding>,
}

/// What the warm container remembers between invocations.
struct WarmState {
    pending: PendingRequests,
    seen: SeenEvents,
    alerts: AlertState,
    /// Batches whose metrics went out although the invocation failed later:
    /// a retry in this container does not count them twice.
    metrics_sent: HashSet<String>,
    /// Execution log groups seen here: the function reads them, so they may be looked up.
    exec_groups: HashSet<String>,
}

pub struct Monitor {
    config: Config,
    sink: Sink,
    state: Mutex<WarmState>,
    /// Where split requests are looked up; `None`: `LOG_LOOKUP=off` (or a dry run).
    lookup: Option<Arc<dyn LogLookup>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Monitor {
    pub fn new(config: Config, sink: Sink) -> Monitor {
        let state = WarmState {
            pending: PendingRequests::new(config.pending_ttl_secs, config.pending_max_requests),
            seen: SeenEvents::new(config.alert_cooldown_secs.max(60), SEEN_EVENTS_MAX),
            alerts: AlertState::default(),
            metrics_sent: HashSet::new(),
            exec_groups: HashSet::new(),
        };
        Monitor {
            config,
            sink,
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
        let cfg = &self.config;
        let inflated = match envelope::decode_lambda_event(event, cfg.max_decompressed_bytes) {
            Ok(i) => i,
            Err(e) => return Err(self.reject(e, deadline, now).await),
        };
        for i in &inflated {
            if i.trailing_garbage > 0 {
                tracing::warn!(origin = %i.origin, bytes = i.trailing_garbage, "ignored bytes after the last gzip member");
            }
        }

        // The engine, under the warm state's lock (invocations of one container never
        // overlap). Events stream from the inflated buffers into the engine.
        let analysed = {
            let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
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
            let streamed = inflated.iter().try_for_each(|i| {
                envelope::visit_documents(&i.bytes, &i.origin, &mut feed).map(drop)
            });
            // The requests own what they keep: the batch's buffers can go before `finish`.
            drop(inflated);
            match streamed {
                Ok(()) => Ok((feed.analyzer, feed.ids, earlier, feed.duplicates)),
                Err(e) => {
                    // Nothing of a rejected batch counts; the partial requests wait on.
                    st.pending.keep(earlier, now);
                    Err(e)
                }
            }
        };
        let (mut analyzer, event_ids, earlier, duplicates) = match analysed {
            Ok(a) => a,
            Err(e) => return Err(self.reject(e, deadline, now).await),
        };
        // Split requests: their early lines fetched back (no lock held while waiting).
        let subscribed = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .exec_groups
            .clone();
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
        // Backend runs of timeouts (connect or read), within what healing left.
        let backend_lookups = crate::aws::backend_lookup::look_up(
            &mut analysis.findings,
            self.lookup.as_ref(),
            &cfg.backend_function_names,
            cfg.log_lookups_max.saturating_sub(healing.lookups),
            lookups_until(deadline),
        )
        .await;
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pending
            .keep(pending, now);
        let batch_key = batch_key(&event_ids);

        let result = self
            .publish(
                &analysis,
                &batch_key,
                healing.skipped + backend_lookups.skipped,
                deadline,
                now,
            )
            .await;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (metric_calls, metric_data, alerts_sent, alerts_held) = match result {
            Ok(r) => r,
            Err(e) => {
                // Give the earlier partial requests back: the retry needs them again.
                st.pending.keep(earlier, now);
                return Err(e.into());
            }
        };
        st.seen.insert_all(event_ids.iter().copied(), now);
        st.metrics_sent.remove(&batch_key);
        let summary = InvocationSummary {
            analysis: analysis.summary.clone(),
            duplicate_events: duplicates,
            alerts_sent,
            alerts_held,
            metric_calls,
            metric_data,
            pending_requests: st.pending.len(),
            healing,
            backend_lookups,
            duration_ms: started.elapsed().as_millis() as u64,
            findings: std::mem::take(&mut analysis.findings),
        };
        Ok(summary)
    }

    /// Metrics, then alerts. Returns (metric calls, metric data, alerts sent, alerts held).
    async fn publish(
        &self,
        analysis: &crate::engine::analysis::Analysis,
        batch_key: &str,
        lookups_skipped: usize,
        deadline: Option<Instant>,
        now: i64,
    ) -> Result<(usize, usize, usize, usize), PublishError> {
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
        let already = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .metrics_sent
            .contains(batch_key);
        let metric_calls = if already {
            tracing::info!(
                "metrics of this batch were sent by an earlier, failed try: not sent again"
            );
            0
        } else {
            let n = self.send_metrics(&batch, deadline).await?;
            self.state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .metrics_sent
                .insert(batch_key.to_owned());
            n
        };

        let policy = Policy {
            cooldown_secs: cfg.alert_cooldown_secs,
            max_alerts: cfg.max_alerts_per_invocation,
            near_limit_min: cfg.near_limit_alert_min,
        };
        let now_secs = (now / 1000) as u64;
        let plan = {
            let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            alert::plan(analysis, &st.alerts, policy, now_secs)
        };
        for (key, n, why) in &plan.held {
            tracing::info!(api_id = %key.api_id, stage = %key.stage, route = %key.route, kind = %key.kind, cause = %key.cause, findings = n, reason = why.as_str(), "alert held back");
        }
        let rendered = alert::render_plan(&plan);
        let mut sent = 0;
        for (i, r) in rendered.iter().enumerate() {
            if self.sink.record(Published::Alert(r.clone())) {
                sent += 1;
                continue;
            }
            match (&self.sink, &cfg.alert_topic_arn) {
                (Sink::Aws { sns: client, .. }, Some(topic)) => {
                    let remaining =
                        remaining(deadline).ok_or(PublishError::Deadline("publish alerts"))?;
                    tokio::time::timeout(remaining, sns::publish(client, topic, r))
                        .await
                        .map_err(|_| PublishError::Deadline("publish alerts"))??;
                    sent += 1;
                    // Commit each alert as it goes out, so a retry does not send it twice.
                    let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                    st.alerts.commit_one(&plan, i, now_secs);
                }
                _ => {
                    tracing::warn!(alert_id = %r.id, subject = %r.subject, automation = %r.automation, "finding (no ALERT_TOPIC_ARN set, not sent)")
                }
            }
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.alerts.commit(&plan, now_secs);
        st.alerts.expire(now_secs, cfg.alert_cooldown_secs);
        Ok((metric_calls, batch.data.len(), sent, plan.held.len()))
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
