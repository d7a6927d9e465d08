//! Issue 25's measured scale at CI size: 4 accounts × 5 APIs (the same API ids, stages,
//! streams and event ids in every account) through a central Kinesis stream, K = 1, 4
//! and 8 containers sharing the table, 5 % of invocations retried on another container.
//! `make replay-accounts` runs it at 20 × 50 for the README (examples/replay_accounts.rs).

#[path = "common/fan_in.rs"]
mod fan_in;

use fan_in::{FanIn, Measurement};

fn exact(f: &FanIn) -> Measurement {
    let m = fan_in::run(f);
    println!("{}\n{}", Measurement::HEADER, m.row());
    assert!(m.requests > 4_000 && m.retries > 0, "{m:#?}");
    assert!(
        m.keys >= 50,
        "too few incident keys to tell accounts apart: {m:#?}"
    );
    assert!(m.exact(), "{m:#?}");
    m
}

#[test]
fn one_container_is_exact_per_account() {
    exact(&FanIn::ci(1));
}

#[test]
fn four_containers_are_exact_per_account() {
    exact(&FanIn::ci(4));
}

#[test]
fn eight_containers_are_exact_per_account() {
    exact(&FanIn::ci(8));
}

/// One alert per invocation: the rest go out in summary alerts, whose items name their
/// incident's account; still one firing per incident.
#[test]
fn the_alert_cap_keeps_accounts_apart() {
    let mut f = FanIn::ci(4);
    f.extra_env
        .push(("MAX_ALERTS_PER_INVOCATION".into(), "1".into()));
    let m = exact(&f);
    assert!(m.summaries > 0, "{m:#?}");
}
