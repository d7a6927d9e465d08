//! `apigw-doctor dry-run`: the Lambda's handler on files, in this process, with what it
//! would send recorded and printed instead of sent.

use super::*;

/// One metric datum with PutMetricData's own field names.
fn metric_json(d: &apigw_doctor::render::metrics::Datum) -> serde_json::Value {
    let mut m = serde_json::json!({
        "MetricName": d.name,
        "Dimensions": d.dimensions.iter().map(|(k, v)| serde_json::json!({"Name": k, "Value": v})).collect::<Vec<_>>(),
        "Timestamp": chrono::DateTime::from_timestamp_millis(d.timestamp_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "Unit": d.unit.as_str(),
    });
    if d.values.len() == 1 && d.counts.first().is_none_or(|c| *c == 1.0) {
        m["Value"] = serde_json::json!(d.values[0]);
    } else {
        m["Values"] = serde_json::json!(d.values);
        m["Counts"] = serde_json::json!(d.counts);
    }
    m
}

/// Runs each file through the monitor as the Lambda would (in-memory state, a recorder
/// for what would be sent) and hands `each` the invocation's result and that record.
fn dry_run_each(
    files: &[String],
    mut each: impl FnMut(
        &str,
        Result<apigw_doctor::monitor::InvocationSummary, String>,
        Vec<apigw_doctor::monitor::recorder::Published>,
    ) -> Result<(), String>,
) -> Result<(), String> {
    use apigw_doctor::lambda::config::Config;
    use apigw_doctor::monitor::recorder::Recorder;
    use apigw_doctor::monitor::{Monitor, Ports};

    let config = Config::from_lookup(|k| std::env::var(k).ok()).map_err(|e| e.to_string())?;
    let cap = config.max_decompressed_bytes;
    let recorder = std::sync::Arc::new(Recorder::default());
    let monitor = Monitor::new(config.settings(), Ports::in_memory(&recorder));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    for path in files {
        let bytes = read(path, cap)?;
        let result = rt
            .block_on(monitor.handle(&bytes, None))
            .map_err(|e| e.to_string());
        each(path, result, recorder.take())?;
    }
    Ok(())
}

/// `dry-run --format json`: what the handler would send, as data.
pub(super) fn dry_run_json(files: &[String]) -> Result<String, String> {
    use apigw_doctor::monitor::recorder::Published;

    let config = apigw_doctor::lambda::config::Config::from_lookup(|k| std::env::var(k).ok())
        .map_err(|e| e.to_string())?;
    let pagers = &config.pagers;
    let (mut metrics, mut alerts, mut invocations) = (Vec::new(), Vec::new(), Vec::new());
    let mut pages = Vec::new();
    dry_run_each(files, |path, result, recorded| {
        invocations.push(match result {
            Ok(s) => serde_json::json!({"file": path, "ok": true, "summary": s}),
            Err(e) => serde_json::json!({"file": path, "ok": false, "error": e}),
        });
        for p in recorded {
            match p {
                Published::Metrics(m) => metrics.extend(m.data.iter().map(metric_json)),
                Published::Emf(_) => {}
                Published::Alert(a) => {
                    alerts.push(
                        serde_json::from_str::<serde_json::Value>(&a.automation)
                            .map_err(|e| e.to_string())?,
                    );
                    // A digest is not for a pager: no page shown.
                    let Some(alert_pages) = &a.pages else {
                        continue;
                    };
                    let mut sent = apigw_doctor::render::alert::as_sent(
                        alert_pages,
                        (
                            &pagers.pagerduty_events_url,
                            pagers.pagerduty_key_parameter.as_deref(),
                        ),
                        (
                            &pagers.opsgenie_api_url,
                            pagers.opsgenie_key_parameter.as_deref(),
                        ),
                    );
                    sent["alert_id"] = serde_json::json!(a.id);
                    pages.push(sent);
                }
            }
        }
        Ok(())
    })?;
    serde_json::to_string_pretty(
        &serde_json::json!({"metrics": metrics, "alerts": alerts, "pages": pages, "invocations": invocations}),
    )
    .map(|s| s + "\n")
    .map_err(|e| e.to_string())
}

pub(super) fn dry_run(files: &[String]) -> Result<String, String> {
    use apigw_doctor::monitor::recorder::Published;
    use std::fmt::Write as _;

    let mut out = String::new();
    dry_run_each(files, |path, result, recorded| {
        let _ = writeln!(out, "=== {path}");
        match result {
            Ok(s) => {
                let _ = writeln!(
                    out,
                    "invocation: {}",
                    serde_json::to_string(&s).unwrap_or_default()
                );
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "invocation FAILED (the batch would go to the failure destination): {e}"
                );
            }
        }
        for p in recorded {
            match p {
                Published::Metrics(m) => {
                    let _ = writeln!(
                        out,
                        "\n--- PutMetricData, namespace {}: {} data",
                        m.namespace,
                        m.data.len()
                    );
                    for d in &m.data {
                        let dims: Vec<String> = d
                            .dimensions
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect();
                        let vals: Vec<String> = d
                            .values
                            .iter()
                            .zip(&d.counts)
                            .map(|(v, c)| {
                                if *c == 1.0 {
                                    v.to_string()
                                } else {
                                    format!("{v}x{c}")
                                }
                            })
                            .collect();
                        let _ = writeln!(
                            out,
                            "  {:<19} {:<12} [{}] @{} values {}",
                            d.name,
                            d.unit.as_str(),
                            dims.join(", "),
                            apigw_doctor::render::display::time(d.timestamp_ms),
                            vals.join(" ")
                        );
                    }
                }
                Published::Emf(lines) => {
                    let _ = writeln!(out, "\n--- EMF lines on stdout: {}", lines.len());
                    for l in lines {
                        let _ = writeln!(out, "  {l}");
                    }
                }
                Published::Alert(a) => {
                    let pretty = |s: &str| {
                        serde_json::from_str::<serde_json::Value>(s)
                            .and_then(|v| serde_json::to_string_pretty(&v))
                            .unwrap_or_default()
                    };
                    let _ = writeln!(
                        out,
                        "\n--- SNS Publish (MessageStructure=json), alert {}",
                        a.id
                    );
                    let _ = writeln!(out, "Subject: {}", a.subject);
                    let _ = writeln!(out, "\n[email]\n{}", a.email);
                    let _ = writeln!(
                        out,
                        "[default: AWS Chatbot / Amazon Q Developer custom notification]\n{}",
                        pretty(&a.chatbot)
                    );
                    let _ = writeln!(
                        out,
                        "\n[sqs, lambda: automation JSON]\n{}",
                        pretty(&a.automation)
                    );
                }
            }
        }
        out.push('\n');
        Ok(())
    })?;
    Ok(out)
}
