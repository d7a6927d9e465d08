//! `make replay-accounts`: issue 25's fan-in replay of tests/replay_accounts.rs at
//! organisation size (default 20 accounts × 50 APIs, 200,000 requests), for K = 1, 4, 8;
//! prints the README table and the cost per million requests. `REPLAY_ACCOUNTS`,
//! `REPLAY_APIS`, `REPLAY_MINUTES`, `REPLAY_PER_MINUTE` (per API stage) size it; `REPLAY_K`
//! runs one K only; `REPLAY_BATCH_SIZE` and `REPLAY_BATCH_WINDOW` (seconds) set the event
//! source mapping's batching (100 and 5, the template's).

#[path = "../tests/common/fan_in.rs"]
mod fan_in;

use fan_in::{FanIn, Measurement};

/// us-east-1 list prices (USD) used for the cost column; see the README for the date.
const LAMBDA_GB_SECOND: f64 = 0.000_016_666_7;
const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
const DYNAMODB_WRITE: f64 = 0.625 / 1e6;
const DYNAMODB_READ: f64 = 0.125 / 1e6;
const PUT_METRIC_DATA: f64 = 0.01 / 1e3;
const KINESIS_PUT_UNIT: f64 = 0.014 / 1e6;
/// One vCPU per 1,769 MB of function memory (Lambda's documented ratio): a CPU-bound
/// handler's GB-seconds do not depend on the memory chosen.
const MB_PER_VCPU: f64 = 1769.0;

fn main() {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok());
    let mut f = FanIn::ci(1);
    f.accounts = env("REPLAY_ACCOUNTS").unwrap_or(20);
    f.base.apis = env("REPLAY_APIS").unwrap_or(50);
    f.base.minutes = env("REPLAY_MINUTES").unwrap_or(20) as i64;
    f.base.per_minute = env("REPLAY_PER_MINUTE").unwrap_or(10);
    // The event source mapping's BatchSize and MaximumBatchingWindowInSeconds.
    f.batch_size = env("REPLAY_BATCH_SIZE").unwrap_or(f.batch_size);
    f.batch_window_ms = env("REPLAY_BATCH_WINDOW").map_or(f.batch_window_ms, |s| s as i64 * 1000);
    println!(
        "replay-accounts: {} accounts × {} APIs (1 stage each, the same ids in every account), {} minutes, {} requests per minute per stage, {:.0} % timeouts on the slow route, {:.0} % of invocations retried",
        f.accounts, f.base.apis, f.base.minutes, f.base.per_minute, f.base.timeout_share * 300.0, f.retry * 100.0
    );
    println!("{}", Measurement::HEADER);
    let mut runs = Vec::new();
    let ks: Vec<usize> = match env("REPLAY_K") {
        Some(k) => vec![k],
        None => vec![1, 4, 8],
    };
    for k in ks {
        f.k = k;
        let m = fan_in::run(&f);
        println!("{}", m.row());
        runs.push(m);
    }
    println!("\nCost per million requests watched (us-east-1 list prices, the run at K = 8):");
    let m = runs.last().unwrap();
    let per_m = 1e6 / m.requests as f64;
    let cpu = m.busy.as_secs_f64() * per_m;
    let lambda = cpu * MB_PER_VCPU / 1024.0 * LAMBDA_GB_SECOND
        + m.invocations as f64 * per_m * LAMBDA_REQUEST;
    let dynamodb =
        (m.dynamodb.0 as f64 * DYNAMODB_WRITE + m.dynamodb.1 as f64 * DYNAMODB_READ) * per_m;
    let cloudwatch = m.metric_calls as f64 * per_m * PUT_METRIC_DATA;
    println!("| part | per million requests |\n|---|---|");
    println!(
        "| Lambda: {:.1} s of one core, {:.0} invocations | ${lambda:.2} |",
        cpu,
        m.invocations as f64 * per_m
    );
    println!(
        "| DynamoDB on demand: {:.0} writes, {:.0} reads | ${dynamodb:.2} |",
        m.dynamodb.0 as f64 * per_m,
        m.dynamodb.1 as f64 * per_m
    );
    for (call, (w, r)) in &m.dynamodb_by_call {
        println!(
            "| of which {call}: {:.0} writes, {:.0} reads | |",
            *w as f64 * per_m,
            *r as f64 * per_m
        );
    }
    println!(
        "| CloudWatch PutMetricData: {:.0} calls | ${cloudwatch:.2} |",
        m.metric_calls as f64 * per_m
    );
    let kinesis = m.put_units as f64 * per_m * KINESIS_PUT_UNIT;
    println!(
        "| Kinesis PUT payload units: {:.0} records, {:.0} units | ${kinesis:.2} |",
        m.records as f64 * per_m,
        m.put_units as f64 * per_m
    );
    println!(
        "| total (without shard-hours, metric storage, SNS) | ${:.2} |",
        lambda + dynamodb + cloudwatch + kinesis
    );
    println!(
        "\nOne container on one core: {:.0} log events/s ({:.0} at 128 MB, {:.2} vCPU).",
        m.events_per_second(),
        m.events_per_second() * 128.0 / MB_PER_VCPU,
        128.0 / MB_PER_VCPU
    );
}
