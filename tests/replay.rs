//! The production-like replay (issue 13) at CI size: one hour of traffic on three APIs,
//! delivered to K warm containers, measured against the generator's truth.
//! `make replay` runs the same simulator bigger, for every K and mode (examples/replay.rs).

#[path = "common/replay.rs"]
mod replay;

use replay::{Measurement, Mode, Scenario};

/// K = 4, random assignment, 3 % redelivered, 5 % late: with lookups, every timeout
/// keeps its route, backend and "invoked", and none is published twice.
#[test]
fn four_containers_heal_every_timeout() {
    let s = Scenario::ci();
    let before = replay::run(&s, Mode::Subscription, 4, false, &[]);
    let after = replay::run(&s, Mode::Subscription, 4, true, &[]);
    println!(
        "{}\n{}\n{}",
        replay::Measurement::HEADER,
        before.row(),
        after.row()
    );
    assert!(before.timeouts >= 40, "{before:?}");
    // Without lookups the split requests lose their diagnosis: the replay sees it.
    assert!(before.timeouts_diagnosed < before.timeouts, "{before:?}");
    assert!(before.unknown_route_points > 0, "{before:?}");
    // With lookups: every timeout diagnosed, counted once per container that saw it.
    assert_eq!(after.timeouts_found, after.timeouts, "{after:?}");
    assert_eq!(after.timeouts_diagnosed, after.timeouts, "{after:?}");
    assert_eq!(after.lookups_skipped, 0, "{after:?}");
    assert!(
        after.lookups > 0 && after.lookups < after.requests / 10,
        "{after:?}"
    );
}

/// One container, batches in order: nothing is split for long, nothing is looked up twice.
#[test]
fn one_container_is_exact_without_lookups() {
    let mut s = Scenario::ci();
    s.minutes = 20;
    s.redeliver = 0.0;
    s.swap = 0.0;
    let m = replay::run(&s, Mode::Subscription, 1, false, &[]);
    println!("{}\n{}", replay::Measurement::HEADER, m.row());
    assert_eq!(m.timeouts_diagnosed, m.timeouts, "{m:?}");
    assert_eq!(m.timeouts_twice, 0, "{m:?}");
    assert_eq!(m.stage_timeouts.0, m.stage_timeouts.1, "{m:?}");
    assert_eq!(
        (m.cells_exact, m.unknown_route_points),
        (m.cells, 0),
        "{m:?}"
    );
    assert_eq!(m.alerts_repeated, 0, "{m:?}");
}

/// Kinesis with `Distribution: ByLogStream`: a stream's batches in order on one
/// consumer (redeliveries too). Every sum exact and every timeout diagnosed, with no
/// lookup at all.
#[test]
fn kinesis_ordering_is_exact() {
    let s = Scenario::ci();
    let m = replay::run(&s, Mode::Kinesis, 4, false, &[]);
    println!("{}\n{}", replay::Measurement::HEADER, m.row());
    assert_eq!(m.timeouts_diagnosed, m.timeouts, "{m:?}");
    assert_eq!(
        (m.cells_exact, m.off_by, m.timeouts_twice),
        (m.cells, 0, 0),
        "{m:?}"
    );
    assert_eq!(m.unknown_route_points, 0, "{m:?}");
}

/// The goal of issue 13: with K = 8 containers sharing their state (the DynamoDB table)
/// and healing on, every timeout fully diagnosed, each published once, every metric
/// cell exact (split requests joined through the table), and no alert repeated.
#[test]
fn eight_containers_with_shared_state_are_exact() {
    let s = Scenario::ci();
    let m = replay::run_with(&s, Mode::Subscription, 8, true, true, &[]);
    println!("{}\n{}", Measurement::HEADER, m.row());
    assert_eq!(m.timeouts_found, m.timeouts, "{m:?}");
    assert_eq!(m.timeouts_diagnosed, m.timeouts, "{m:?}");
    assert_eq!(m.timeouts_twice, 0, "{m:?}");
    assert_eq!(m.stage_timeouts.0, m.stage_timeouts.1, "{m:?}");
    assert_eq!(
        (m.cells_exact, m.off_by, m.unknown_route_points),
        (m.cells, 0, 0),
        "{m:?}"
    );
    assert_eq!(m.alerts_repeated, 0, "{m:?}");
    // Two small writes per split request at most; fewer lookups than without the table.
    assert!(m.joined > 0 && m.join_writes <= 2 * m.requests / 5, "{m:?}");
}
