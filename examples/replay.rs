//! `make replay`: the production-like replay of tests/replay.rs, bigger, for K = 1, 2,
//! 4, 8, subscription and Kinesis delivery, lookups off and on; prints the README table.
//! `REPLAY_MINUTES` and `REPLAY_PER_MINUTE` (per stage) size it.

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
}
