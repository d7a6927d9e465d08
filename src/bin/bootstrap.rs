//! The Lambda function: config and AWS clients are built once at init, then every
//! invocation goes to [`apigw_doctor::monitor::Monitor`], wired by `lambda::wiring`.

use std::time::{Duration, Instant};

use std::sync::Arc;

use apigw_doctor::lambda::config::Config;
use apigw_doctor::monitor::recorder::{Published, Recorder};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::value::RawValue;

fn log_dry_run(recorder: &Recorder) {
    for p in recorder.take() {
        match p {
            Published::Metrics(m) => tracing::info!(
                dry_run = true,
                namespace = %m.namespace,
                metric_data = %serde_json::to_string(&m.data).unwrap_or_default(),
                "would call PutMetricData"
            ),
            Published::Emf(lines) => {
                tracing::info!(dry_run = true, lines = lines.len(), "would print EMF lines")
            }
            Published::Alert(a) => tracing::info!(
                dry_run = true,
                alert_id = %a.id,
                subject = %a.subject,
                email = %a.email,
                chatbot = %a.chatbot,
                automation = %a.automation,
                "would publish to SNS"
            ),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOG_LEVEL")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();

    let config = Config::from_lookup(|k| std::env::var(k).ok()).map_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
        e
    })?;
    // The SDK configuration is loaded once; each client gets its own retry and timeout
    // bounds from it (publishing, incident state, lookups). A dry run loads none.
    let shared = if config.dry_run {
        None
    } else {
        Some(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await,
        )
    };
    let recorder = Arc::new(Recorder::default());
    let monitor = apigw_doctor::lambda::wiring::monitor(&config, shared.as_ref(), &recorder);
    let monitor = &monitor;

    let recorder = &recorder;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        // Lambda always gives a deadline ahead of now; an emulator may not, and then
        // the handler's own bound applies.
        let deadline = (event.context.deadline > now_ms)
            .then(|| Instant::now() + Duration::from_millis(event.context.deadline - now_ms));
        if deadline.is_none() {
            tracing::warn!(deadline_ms = event.context.deadline, now_ms, "no usable invocation deadline");
        }
        // Requests from other accounts are told apart from the function's own by it.
        monitor.learn_own_account(&event.context.invoked_function_arn);
        let result = monitor.handle(event.payload.get().as_bytes(), deadline).await;
        log_dry_run(recorder);
        match result {
            Ok(summary) => {
                tracing::info!(
                    request_id = %event.context.request_id,
                    log_events = summary.analysis.log_events,
                    duplicate_events = summary.duplicate_events,
                    requests = summary.analysis.requests,
                    timeouts = summary.analysis.timeouts,
                    near_limit = summary.analysis.near_limit,
                    errors = summary.analysis.errors,
                    misconfigurations = summary.analysis.misconfigurations,
                    alerts_sent = summary.alerts_sent,
                    alerts_held = summary.alerts_held,
                    incidents = summary.incidents,
                    resolved = summary.resolved,
                    state_errors = summary.state_errors,
                    duplicate_batch = summary.duplicate_batch,
                    metric_calls = summary.metric_calls,
                    pending_requests = summary.pending_requests,
                    lookups = summary.healing.lookups,
                    healed = summary.healing.healed,
                    lookups_skipped = summary.healing.skipped,
                    lookups_not_readable = summary.healing.not_readable + summary.backend_lookups.not_readable,
                    halves_written = summary.joining.writes,
                    joined = summary.joining.joined,
                    deferred = summary.joining.deferred,
                    duration_ms = summary.duration_ms,
                    "invocation done"
                );
                Ok::<_, lambda_runtime::Diagnostic>(summary)
            }
            Err(e) => {
                tracing::error!(request_id = %event.context.request_id, error = %e, retryable = e.is_retryable(), "invocation failed");
                Err(apigw_doctor::lambda::diagnostic::diagnostic(&e))
            }
        }
    }))
    .await
}
