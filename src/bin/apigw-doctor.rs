//! `apigw-doctor analyze FILE…` (or `--api-id … --stage … --since …`, read from
//! CloudWatch Logs): the engine on an incident's logs, for post-incident work.

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

// `dry-run` in its own file (a binary's module lives beside it).
#[path = "apigw-doctor/dry_run.rs"]
mod dry_run;
use dry_run::{dry_run, dry_run_json};

use apigw_doctor::engine::analysis::{Analyzer, Counters};
use apigw_doctor::engine::changes::{ChangeOrigin, ChangeSource};
use apigw_doctor::logs::cloudtrail;

use apigw_doctor::engine::config::EngineConfig;

use apigw_doctor::engine::select::{select, Selection};
use apigw_doctor::logs::access_log::AccessFormat;
use apigw_doctor::logs::envelope::Source;
use apigw_doctor::logs::envelope::DEFAULT_MAX_DECOMPRESSED;
use apigw_doctor::logs::input::{self, InputKind, Window, Windowed};
use apigw_doctor::model::kind::Kind;
use apigw_doctor::model::limits::{self, Limits};
use apigw_doctor::render::display::thousands;
use apigw_doctor::render::report::{self, Options, Report};
use apigw_doctor::render::{html, markdown, words};

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

// Parsed once per run: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    /// Markdown, to paste into a postmortem.
    Md,
    /// One self-contained HTML file with charts.
    Html,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Timeout,
    Error,
    #[value(name = "near_limit", alias = "near-limit")]
    NearLimit,
    Misconfiguration,
}

impl KindArg {
    fn kind(self) -> Kind {
        match self {
            KindArg::Timeout => Kind::Timeout,
            KindArg::Error => Kind::Error,
            KindArg::NearLimit => Kind::NearLimit,
            KindArg::Misconfiguration => Kind::Misconfiguration,
        }
    }
}

/// Exit statuses besides 0 (success) and 2 (unreadable input or bad option).
const EXIT_UNRECOGNISED: u8 = 3;
const EXIT_FAIL_ON: u8 = 4;
/// What a shell reports for a process ended by SIGPIPE (128 + 13).
const EXIT_BROKEN_PIPE: u8 = 141;
/// A file is mostly unreadable past this share of unrecognised log events.
const UNRECOGNISED_SHARE: f64 = 0.5;
/// Read this long past --until, for the last lines of requests that started before it
/// (a timeout line comes a limit after the request's start; limits can be raised).
const FETCH_GRACE_MS: i64 = 5 * 60_000;

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// Files to analyse as one stream (`-` reads standard input). Gzip files are inflated.
    /// Without files, the logs are read from CloudWatch Logs (--api-id and --stage, or --log-group).
    files: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Every finding, one by one, instead of the incident report.
    #[arg(long)]
    details: bool,
    /// What the files are; by default decided from their content.
    #[arg(long, value_enum, default_value = "auto")]
    input: InputKind,
    /// Only log events from this time: `2h` (ago), `2026-11-25T10:00:00Z`, epoch ms.
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Only log events before this time (same forms as --since).
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
    /// Only this API (and, without files, the API whose logs to fetch, with --stage).
    #[arg(long, value_name = "ID")]
    api_id: Option<String>,
    /// Only this stage.
    #[arg(long, value_name = "NAME")]
    stage: Option<String>,
    /// Only routes that contain this text, e.g. `POST /orders`.
    #[arg(long, value_name = "TEXT")]
    route: Option<String>,
    /// Only findings of these kinds (repeatable).
    #[arg(long, value_enum, value_name = "KIND")]
    kind: Vec<KindArg>,
    /// Routes and incidents shown in the report (0: all).
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
    /// Exit 4 when findings of these kinds exist (repeatable), for scripts and CI gates.
    #[arg(long, value_enum, value_name = "KIND")]
    fail_on: Vec<KindArg>,
    /// Exit 0 even when most of an input's lines are not recognised (the warning stays).
    #[arg(long)]
    allow_unrecognised: bool,
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
    /// Log group to read from CloudWatch Logs (repeatable); with files, the group of
    /// inputs that do not name one (`aws logs` output, console text).
    #[arg(long, value_name = "NAME")]
    log_group: Vec<String>,
    /// AWS Region (CloudWatch Logs, API Gateway and console links).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Cap on the decompressed size of one input.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_DECOMPRESSED)]
    max_decompressed_bytes: usize,
    /// CloudTrail changes to relate to the incidents (repeatable): `aws cloudtrail
    /// lookup-events` output or trail log files (`{"Records":[…]}`, gzip or not).
    #[arg(long, value_name = "FILE")]
    changes: Vec<String>,
    /// How far before an incident's onset a change is related to it.
    #[arg(long, value_name = "MINUTES", default_value_t = 60)]
    change_window: i64,
    /// The SLOs of the "Error budget" section, as the Lambda's SLO setting:
    /// `99.9%/30d; API[/STAGE[/ROUTE]]=OBJECTIVE…`, or `off`.
    #[arg(long, value_name = "SLO", default_value = "99.9%/30d")]
    slo: String,
}

/// The changes given with --changes (none: [`ChangeOrigin::None`], unless fetch mode
/// looks them up); what could not be read becomes a warning.
fn change_source(args: &AnalyzeArgs, warnings: &mut Vec<String>) -> Result<ChangeSource, String> {
    if !(1..=1440).contains(&args.change_window) {
        return Err("--change-window: whole minutes from 1 to 1440".into());
    }
    let window_ms = args.change_window * 60_000;
    if args.changes.is_empty() {
        return Ok(ChangeSource {
            window_ms,
            ..ChangeSource::default()
        });
    }
    let mut all = Vec::new();
    for path in &args.changes {
        let read = cloudtrail::read_changes(&read(path, args.max_decompressed_bytes)?, path);
        warnings.extend(read.problems.iter().map(|p| format!("--changes {p}")));
        all.extend(read.changes);
    }
    Ok(ChangeSource::new(ChangeOrigin::Files, all, window_ms))
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

/// A warning when most of what `name` held was not recognised (or nothing was read).
fn unrecognised_warning(
    name: &str,
    what: &str,
    before: &Counters,
    after: &Counters,
) -> Option<String> {
    let events = after.log_events - before.log_events;
    let bad = after.unrecognised_lines - before.unrecognised_lines;
    if events == 0 {
        return Some(format!(
            "{name}: no log events were read from it ({what}). apigw-doctor expected {}.",
            InputKind::EXPECTED
        ));
    }
    let share = bad as f64 / events as f64;
    (share > UNRECOGNISED_SHARE).then(|| {
        format!(
            "{name}: {:.0}% of its {} log events ({what}) were not recognised, so this report \
             does not cover them. apigw-doctor expected {}. --input KIND forces a format.",
            share * 100.0,
            thousands(events),
            InputKind::EXPECTED
        )
    })
}

fn kind_name(k: InputKind) -> &'static str {
    match k {
        InputKind::Auto => "auto",
        InputKind::Event => "read as Lambda events",
        InputKind::Subscription => "read as subscription documents",
        InputKind::AwsLogs => "read as aws logs output",
        InputKind::Console => "read as console text",
        InputKind::TestInvoke => "read as a test-invoke log",
        InputKind::Tail => "read as aws logs tail output",
        InputKind::Insights => "read as Logs Insights results",
        InputKind::Json => "read as JSON records",
        InputKind::Lines => "read as one message per line",
    }
}

struct Outcome {
    out: String,
    status: u8,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn analyze(args: &AnalyzeArgs) -> Result<Outcome, String> {
    let mut config = config(args)?;
    let now = now_ms();
    let fetching = args.files.is_empty();
    let since = match (&args.since, fetching) {
        (Some(s), _) => Some(input::parse_time(s, now).map_err(|e| format!("--since: {e}"))?),
        // Fetching needs a window: the last hour by default.
        (None, true) => Some(now - 3_600_000),
        (None, false) => None,
    };
    let until = args
        .until
        .as_deref()
        .map(|s| input::parse_time(s, now).map_err(|e| format!("--until: {e}")))
        .transpose()?;
    let window = Window { since, until };
    let mut warnings = Vec::new();
    let mut changes = change_source(args, &mut warnings)?;
    // Fetch mode asks API Gateway (once the options are checked) for the groups to read and
    // the integrations' limits, before the engine is built with those limits.
    let source = if fetching {
        Some(FetchSource::prepare(args, &mut config, &mut warnings)?)
    } else {
        None
    };
    // Function logs given to the CLI, or fetched for the window, are whole exports of their
    // groups: an invocation absent from their span did not happen.
    let mut analyzer = Analyzer::new(&config).with_complete_function_logs();
    let mut sink = Windowed::new(&mut analyzer, window);
    // Some input could not be read: exit 3 (a stage without an access-log group is not that).
    let mut unreadable = false;
    if let Some(source) = source {
        // Past --until, the lines of requests that started before it (see `Sink`).
        let end = window.until.map_or(now, |u| u + FETCH_GRACE_MS);
        let start = window.since.unwrap_or(0);
        if args.changes.is_empty() {
            let window_ms = changes.window_ms;
            changes = source.changes(start - window_ms, end, window_ms, &mut warnings);
        }
        let (w, bad) = source.fetch(start, end, &mut sink)?;
        warnings.extend(w);
        unreadable = bad;
    } else {
        let log_group = args.log_group.first().map_or("", String::as_str);
        for path in &args.files {
            let bytes = read(path, args.max_decompressed_bytes)?;
            let before = sink.visitor.counters().clone();
            let kind = input::feed_window(
                &bytes,
                args.input,
                path,
                log_group,
                args.max_decompressed_bytes,
                &mut sink,
            )
            .map_err(|e| e.to_string())?;
            let after = sink.visitor.counters();
            // Events dropped by --since/--until were not unrecognised: warn only without a window.
            if window == Window::default() || after.log_events > before.log_events {
                // An event or an export with no log events is a quiet batch, not a misread.
                let structured = matches!(
                    kind,
                    InputKind::Event | InputKind::Subscription | InputKind::AwsLogs
                );
                let empty = after.log_events == before.log_events;
                if let Some(w) = unrecognised_warning(path, kind_name(kind), &before, after)
                    .filter(|_| !(structured && empty))
                {
                    warnings.push(w);
                    unreadable = true;
                }
            }
        }
    }
    drop(sink);
    let (analysis, _) = analyzer.finish();
    let selection = Selection {
        api_id: args.api_id.clone(),
        stage: args.stage.clone(),
        route: args.route.clone(),
        kinds: args.kind.iter().map(|k| k.kind()).collect(),
    };
    let analysis = select(analysis, &selection);
    let options = Options {
        top: args.top,
        exemplars: 3,
        warnings,
        changes,
        slos: apigw_doctor::engine::slo::SloSettings::parse(&args.slo)
            .map_err(|e| format!("--slo: {e}"))?,
    };
    for w in &options.warnings {
        eprintln!("apigw-doctor: WARNING: {w}");
    }
    let report = Report::build(&analysis, &options);
    let out = match (args.format, args.details) {
        (Format::Text, true) => report::text(&analysis),
        (Format::Text, false) => report.text(),
        (Format::Json, _) => report.json(),
        (Format::Md, _) => markdown::render(&report),
        (Format::Html, _) => html::render(&report)?,
    };
    let failing = args
        .fail_on
        .iter()
        .any(|k| analysis.findings.iter().any(|f| f.kind == k.kind()));
    let status = if unreadable && !args.allow_unrecognised {
        EXIT_UNRECOGNISED
    } else if failing {
        EXIT_FAIL_ON
    } else {
        0
    };
    Ok(Outcome { out, status })
}

/// Fetch mode's source: the SDK clients on their runtime, and the log groups to read.
struct FetchSource {
    rt: tokio::runtime::Runtime,
    fetcher: apigw_doctor::aws::fetch::Fetcher,
    groups: Vec<String>,
}

impl FetchSource {
    /// Asks API Gateway for the stage's log groups and its integrations' limits, which go
    /// into `config` below the explicit settings; what failed becomes a warning.
    fn prepare(
        args: &AnalyzeArgs,
        config: &mut EngineConfig,
        warnings: &mut Vec<String>,
    ) -> Result<FetchSource, String> {
        let mut groups = args.log_group.clone();
        if groups.is_empty() && (args.api_id.is_none() || args.stage.is_none()) {
            return Err("give FILE…, or --api-id and --stage (or --log-group) to read the logs from CloudWatch Logs".into());
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let fetcher = rt.block_on(apigw_doctor::aws::fetch::Fetcher::new(args.region.clone()));
        if let (Some(api), Some(stage)) = (&args.api_id, &args.stage) {
            let info = rt.block_on(fetcher.stage(api, stage));
            warnings.extend(info.warnings);
            if let Some(read) = &info.limits {
                let (limits, notes) = std::mem::take(&mut config.limits).with_api_limits(read);
                config.limits = limits;
                warnings.extend(notes.iter().map(|n| words::limits::note(api, stage, n)));
            }
            for g in info.groups {
                if !groups.contains(&g) {
                    groups.push(g);
                }
            }
        }
        Ok(FetchSource {
            rt,
            fetcher,
            groups,
        })
    }

    /// The API Gateway and Lambda changes in `[start_ms, end_ms]` from CloudTrail
    /// `LookupEvents`; a lookup that fails is said, never taken for "nothing changed".
    fn changes(
        &self,
        start_ms: i64,
        end_ms: i64,
        window_ms: i64,
        warnings: &mut Vec<String>,
    ) -> ChangeSource {
        use std::io::IsTerminal;
        let show = std::io::stderr().is_terminal();
        let mut on_page = |pages: usize, events: usize| {
            if show {
                eprint!(
                    "\r\x1b[KCloudTrail LookupEvents: {pages} pages, {} events",
                    thousands(events as u64)
                );
            }
        };
        let found = self
            .rt
            .block_on(self.fetcher.changes(start_ms, end_ms, &mut on_page));
        if show {
            eprintln!();
        }
        match found {
            Ok(f) => {
                warnings.extend(f.problems);
                if f.truncated {
                    warnings.push(format!("CloudTrail LookupEvents stopped after {} pages ({} events): older changes may be missing; give --changes with an export instead", f.pages, f.events));
                }
                ChangeSource::new(ChangeOrigin::CloudTrailLookup, f.changes, window_ms)
            }
            Err(e) => {
                warnings.push(format!("CloudTrail LookupEvents failed ({e}): what changed before the incidents is not known"));
                ChangeSource {
                    origin: ChangeOrigin::Unavailable,
                    changes: Vec::new(),
                    window_ms,
                }
            }
        }
    }

    /// Reads the log groups from CloudWatch Logs into `analyzer`; returns warnings and
    /// whether nothing could be read.
    fn fetch(
        self,
        start_ms: i64,
        end_ms: i64,
        analyzer: &mut Windowed<'_, Analyzer<'_>>,
    ) -> Result<(Vec<String>, bool), String> {
        use apigw_doctor::aws::fetch::Progress;
        use std::io::IsTerminal;

        let FetchSource {
            rt,
            fetcher,
            groups,
        } = self;
        let show = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        rt.block_on(async {
            let mut warnings = Vec::new();
            let mut unreadable = false;
            let mut read_any = false;
            let started = std::time::Instant::now();
            let mut progress = Progress {
                groups: groups.len(),
                start_ms,
                end_ms,
                ..Progress::default()
            };
            for (i, group) in groups.iter().enumerate() {
                progress.group_index = i + 1;
                if !fetcher.group_exists(group).await.map_err(|e| e.to_string())? {
                    warnings.push(format!(
                        "log group {group} does not exist (execution logging off for the stage, or another Region?)"
                    ));
                    continue;
                }
                read_any = true;
                let before = analyzer.visitor.counters().clone();
                let mut on_progress = |p: &Progress| {
                    if show {
                        let done = p.done();
                        let elapsed = started.elapsed().as_secs_f64();
                        let eta = if done > 0.01 { elapsed / done - elapsed } else { f64::NAN };
                        eprint!(
                            "\r\x1b[K{} ({}/{}): {} events, {:.1} MB read, {:.0}% done{}",
                            p.group,
                            p.group_index,
                            p.groups,
                            thousands(p.events),
                            p.bytes as f64 / 1e6,
                            done * 100.0,
                            if eta.is_finite() { format!(", ETA {eta:.0} s") } else { String::new() }
                        );
                    }
                };
                let mut sink = |e: apigw_doctor::aws::fetch::Event<'_>| {
                    let src = Source { log_group: e.group, log_stream: e.stream };
                    analyzer.add_event(src, e.id, e.timestamp, e.message);
                };
                fetcher
                    .read_group(group, start_ms, end_ms, &mut progress, &mut on_progress, &mut sink)
                    .await
                    .map_err(|e| e.to_string())?;
                let after = analyzer.visitor.counters();
                if after.log_events > before.log_events {
                    if let Some(w) = unrecognised_warning(group, "read from CloudWatch Logs", &before, after) {
                        warnings.push(w);
                        unreadable = true;
                    }
                }
            }
            if show {
                eprintln!();
            }
            if !read_any {
                unreadable = true;
            }
            Ok((warnings, unreadable))
        })
    }
}

/// Writes `out` to stdout; a closed pipe (`| head`) ends quietly with 141.
fn emit(out: &str) -> Result<(), u8> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let res = stdout
        .write_all(out.as_bytes())
        .and_then(|()| {
            if out.ends_with('\n') {
                Ok(())
            } else {
                stdout.write_all(b"\n")
            }
        })
        .and_then(|()| stdout.flush());
    match res {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(EXIT_BROKEN_PIPE),
        Err(e) => {
            eprintln!("apigw-doctor: writing the report: {e}");
            Err(2)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::DryRun { files, format } => match match format {
            Format::Text => dry_run(&files),
            Format::Json => dry_run_json(&files),
            Format::Md | Format::Html => Err("dry-run --format: text or json".to_owned()),
        } {
            Ok(out) => match emit(&out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(code) => ExitCode::from(code),
            },
            Err(e) => {
                eprintln!("apigw-doctor: {}", e.replace('\n', " "));
                ExitCode::from(2)
            }
        },
        Command::Analyze(args) => match analyze(&args) {
            Ok(Outcome { out, status }) => match emit(&out) {
                Ok(()) => ExitCode::from(status),
                Err(code) => ExitCode::from(code),
            },
            Err(e) => {
                eprintln!("apigw-doctor: {}", e.replace('\n', " "));
                ExitCode::from(2)
            }
        },
    }
}
