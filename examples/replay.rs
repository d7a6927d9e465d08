//! `make replay`: the production-like replay of tests/replay.rs, bigger, for K = 1, 2,
//! 4, 8, subscription and Kinesis delivery, lookups off and on; prints the README table.
//! `REPLAY_MINUTES` and `REPLAY_PER_MINUTE` (per stage) size it.
//!
//! `REPLAY_DUMP=DIR REPLAY_K=2` writes the traffic instead, for the real `bootstrap`
//! (tests/aws/replay_bootstrap.py): `DIR/streams.json` (what the log groups hold) and
//! `DIR/deliveries.json` (each delivery's container and Lambda event, in order).

#[path = "../tests/common/replay.rs"]
mod replay;

use replay::{Measurement, Mode, Scenario};

fn main() {
    let mut s = Scenario::ci();
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok());
    if let Some(m) = env("REPLAY_MINUTES") {
        s.minutes = m as i64;
    }
    s.per_minute = env("REPLAY_PER_MINUTE").unwrap_or(40);
    if let Some(dir) = std::env::var_os("REPLAY_DUMP") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("REPLAY_DUMP: a directory");
        let k = env("REPLAY_K").unwrap_or(2);
        let traffic = replay::generate(&s);
        let batches = replay::batches(&traffic, &s);
        let streams: Vec<serde_json::Value> = traffic
            .streams
            .iter()
            .map(|((group, stream), evs)| {
                serde_json::json!({"group": group, "stream": stream, "events": evs.iter().map(|e| serde_json::json!({"timestamp": e.ts, "message": e.message})).collect::<Vec<_>>()})
            })
            .collect();
        let deliveries: Vec<serde_json::Value> =
            replay::deliveries(&batches, &s, replay::Mode::Subscription, k)
                .into_iter()
                .map(|(b, c, _)| {
                    serde_json::json!({"container": c, "event": String::from_utf8(replay::event(&batches[b])).unwrap()})
                })
                .collect();
        let timeouts = traffic
            .truth
            .iter()
            .filter(|t| t.outcome == replay::Outcome::Timeout)
            .count();
        std::fs::write(
            dir.join("streams.json"),
            serde_json::to_vec(&streams).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.join("deliveries.json"),
            serde_json::to_vec(
                &serde_json::json!({"k": k, "timeouts": timeouts, "deliveries": deliveries}),
            )
            .unwrap(),
        )
        .unwrap();
        return;
    }
    println!(
        "replay: {} APIs × {} stages, {} minutes, {} requests per minute per stage, batches of {} s per stream, {:.0} % redelivered, {:.0} % late",
        s.apis, s.stages, s.minutes, s.per_minute, s.window_ms / 1000, s.redeliver * 100.0, s.swap * 100.0
    );
    println!("{}", Measurement::HEADER);
    for mode in [Mode::Subscription, Mode::Kinesis] {
        for k in [1, 2, 4, 8] {
            for healing in [false, true] {
                let m = replay::run(&s, mode, k, healing, &[]);
                println!("{}", m.row());
            }
        }
    }
    // As deployed: the containers share their state (the DynamoDB table), healing on.
    println!(
        "\nWith shared state (INCIDENTS_TABLE), lookups on:\n{}",
        Measurement::HEADER
    );
    for mode in [Mode::Subscription, Mode::Kinesis] {
        for k in [1, 2, 4, 8] {
            let m = replay::run_with(&s, mode, k, true, true, &[]);
            println!("{}", m.row());
        }
    }
}
