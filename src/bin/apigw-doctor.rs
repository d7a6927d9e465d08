//! `apigw-doctor analyze FILE…`: the engine on exported logs, for post-incident work.

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use apigw_doctor::engine::analysis::{Analyzer, EngineConfig};
use apigw_doctor::engine::limits::{self, Limits};
use apigw_doctor::logs::access_log::AccessFormat;
use apigw_doctor::logs::envelope::DEFAULT_MAX_DECOMPRESSED;
use apigw_doctor::logs::input::{self, InputKind};
use apigw_doctor::render::report;

#[derive(Parser)]
#[command(
    name = "apigw-doctor",
    version,
    about = "Finds and explains Amazon API Gateway integration timeouts (504s) in its logs."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse exported logs: subscription events, `aws logs` output, console copies, access logs.
    Analyze(AnalyzeArgs),
    /// Run Lambda events through the function's handler and print what it would publish
    /// (metric data, and each alert's subject, email, Chatbot and automation renderings).
    /// Settings come from the same environment variables as the Lambda's.
    DryRun {
        /// Lambda events (subscription, Kinesis, or a schedule event that resolves quiet
        /// incidents), handled in order as successive invocations of one container.
        #[arg(required = true)]
        files: Vec<String>,
        /// `text` (default) for people; `json`: {"metrics": [PutMetricData's MetricDatum
        /// fields], "alerts": [the automation JSON of each notification]}.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// Files to analyse as one stream (`-` reads standard input). Gzip files are inflated.
    #[arg(required = true)]
    files: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// What the files are; by default decided from their content.
    #[arg(long, value_enum, default_value = "auto")]
    input: InputKind,
    /// The stage's access-log format (the `$context…` template), to read custom keys or CLF/CSV/XML.
    #[arg(long, value_name = "FMT")]
    access_log_format: Option<String>,
    /// The integration timeout to hold every request against (default: 29000 REST/WebSocket, 30000 HTTP).
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<String>,
    /// Per-API limits, e.g. `abc123=60000,xyz789/prod=30000,abc123/prod/POST /orders=45000`.
    #[arg(long, value_name = "LIST")]
    timeout_overrides: Option<String>,
    /// A request is near the limit when its integration latency is at least this fraction of it.
    #[arg(long, value_name = "R", default_value = "0.8")]
    near_limit_ratio: String,
    /// Log group name for inputs that do not carry one (`aws logs` output, console text).
    #[arg(long, value_name = "NAME", default_value = "")]
    log_group: String,
    /// AWS Region for console links when the logs do not name one.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Cap on the decompressed size of one input.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_DECOMPRESSED)]
    max_decompressed_bytes: usize,
}

fn config(args: &AnalyzeArgs) -> Result<EngineConfig, String> {
    let mut limits = Limits::default();
    if let Some(t) = &args.timeout_ms {
        limits.default_ms = Some(limits::parse_ms(t).map_err(|e| format!("--timeout-ms: {e}"))?);
    }
    if let Some(o) = &args.timeout_overrides {
        limits = limits
            .with_overrides(o)
            .map_err(|e| format!("--timeout-overrides: {e}"))?;
    }
    let ratio: f64 = args
        .near_limit_ratio
        .parse()
        .ok()
        .filter(|r: &f64| *r > 0.0 && *r <= 1.0)
        .ok_or_else(|| {
            format!(
                "--near-limit-ratio: `{}` is not a number in (0, 1], e.g. 0.8",
                args.near_limit_ratio
            )
        })?;
    let access_format = args
        .access_log_format
        .as_deref()
        .map(AccessFormat::parse)
        .transpose()
        .map_err(|e| format!("--access-log-format: {e}"))?;
    Ok(EngineConfig {
        limits,
        near_limit_ratio: ratio,
        access_format,
        region: args.region.clone(),
        ..EngineConfig::default()
    })
}

fn read(path: &str, cap: usize) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let res = if path == "-" {
        std::io::stdin()
            .lock()
            .take(cap as u64 + 1)
            .read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(cap as u64 + 1).read_to_end(&mut buf))
    };
    res.map_err(|e| format!("{path}: {e}"))?;
    if buf.len() > cap {
        return Err(format!(
            "{path}: larger than --max-decompressed-bytes ({cap} bytes)"
        ));
    }
    Ok(buf)
}

fn analyze(args: &AnalyzeArgs) -> Result<String, String> {
    let config = config(args)?;
    // Function logs given to the CLI are exports of their groups: absence over their span counts.
    let mut analyzer = Analyzer::new(&config).with_complete_function_logs();
    for path in &args.files {
        let bytes = read(path, args.max_decompressed_bytes)?;
        input::feed(
            &bytes,
            args.input,
            path,
            &args.log_group,
            args.max_decompressed_bytes,
            &mut analyzer,
        )
        .map_err(|e| e.to_string())?;
    }
    let (analysis, _) = analyzer.finish();
    Ok(match args.format {
        Format::Text => report::text(&analysis),
        Format::Json => report::json(&analysis),
    })
}

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

/// `dry-run --format json`: what the handler would send, as data.
fn dry_run_json(files: &[String]) -> Result<String, String> {
    use apigw_doctor::aws::publish::{Published, Sink};
    use apigw_doctor::lambda::config::Config;
    use apigw_doctor::lambda::handler::Monitor;

    let config = Config::from_lookup(|k| std::env::var(k).ok()).map_err(|e| e.to_string())?;
    let cap = config.max_decompressed_bytes;
    let monitor = Monitor::new(config, Sink::dry_run());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    let (mut metrics, mut alerts, mut invocations) = (Vec::new(), Vec::new(), Vec::new());
    for path in files {
        let bytes = read(path, cap)?;
        let result = rt.block_on(monitor.handle(&bytes, None));
        invocations.push(match result {
            Ok(s) => serde_json::json!({"file": path, "ok": true, "summary": s}),
            Err(e) => serde_json::json!({"file": path, "ok": false, "error": e.to_string()}),
        });
        for p in monitor.sink().take_recorded() {
            match p {
                Published::Metrics(m) => metrics.extend(m.data.iter().map(metric_json)),
                Published::Emf(_) => {}
                Published::Alert(a) => alerts.push(
                    serde_json::from_str::<serde_json::Value>(&a.automation)
                        .map_err(|e| e.to_string())?,
                ),
            }
        }
    }
    serde_json::to_string_pretty(
        &serde_json::json!({"metrics": metrics, "alerts": alerts, "invocations": invocations}),
    )
    .map(|s| s + "\n")
    .map_err(|e| e.to_string())
}

fn dry_run(files: &[String]) -> Result<String, String> {
    use apigw_doctor::aws::publish::{Published, Sink};
    use apigw_doctor::lambda::config::Config;
    use apigw_doctor::lambda::handler::Monitor;
    use std::fmt::Write as _;

    let config = Config::from_lookup(|k| std::env::var(k).ok()).map_err(|e| e.to_string())?;
    let cap = config.max_decompressed_bytes;
    let monitor = Monitor::new(config, Sink::dry_run());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    for path in files {
        let bytes = read(path, cap)?;
        let _ = writeln!(out, "=== {path}");
        match rt.block_on(monitor.handle(&bytes, None)) {
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
        for p in monitor.sink().take_recorded() {
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
    }
    Ok(out)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::DryRun { files, format } => match match format {
            Format::Text => dry_run(&files),
            Format::Json => dry_run_json(&files),
        } {
            Ok(out) => {
                print!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("apigw-doctor: {}", e.replace('\n', " "));
                ExitCode::from(2)
            }
        },
        Command::Analyze(args) => match analyze(&args) {
            Ok(out) => {
                print!("{out}");
                if !out.ends_with('\n') {
                    println!();
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("apigw-doctor: {}", e.replace('\n', " "));
                ExitCode::from(2)
            }
        },
    }
}
