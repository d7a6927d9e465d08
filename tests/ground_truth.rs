//! The engine reproduces the ground truth of shared/bench/gen_batches.py exactly:
//! requests, timeouts and near-limit requests, per route, for every batch size.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use apigw_doctor::model::kind::Kind;

const NAMES: &[&str] = &[
    "exec-16k",
    "exec-256k",
    "exec-1m",
    "access-16k",
    "access-256k",
    "access-1m",
    "exec-huge",
];

/// Generates the batches once per build directory (the generator is deterministic).
fn batches() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = common::repo().join("target/gen-batches");
        if NAMES
            .iter()
            .all(|n| dir.join(format!("{n}.truth.json")).exists())
        {
            return dir;
        }
        let gen = common::shared().join("bench/gen_batches.py");
        assert!(
            gen.exists(),
            "{} not found: these tests need shared/ beside the checkout (or APIGW_DOCTOR_SHARED)",
            gen.display()
        );
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("python3")
            .arg(&gen)
            .arg("--out")
            .arg(&dir)
            .status()
            .expect("python3");
        assert!(status.success(), "gen_batches.py failed");
        dir
    })
}

fn check(name: &str) {
    let dir = batches();
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.truth.json"))).unwrap())
            .unwrap();
    let a = common::analyze(&dir.join(format!("{name}.json")));

    let mut got: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for r in &a.routes {
        got.entry(r.key.route.to_string()).or_default().0 += r.requests;
    }
    for f in &a.findings {
        let e = got.entry(f.route.to_string()).or_default();
        match f.kind {
            Kind::Timeout => e.1 += 1,
            Kind::NearLimit => e.2 += 1,
            _ => {}
        }
    }
    let want: BTreeMap<String, (u64, u64, u64)> = truth["routes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(route, v)| {
            let n = |k: &str| v[k].as_u64().unwrap();
            (
                route.clone(),
                (n("requests"), n("timeouts"), n("near_limit")),
            )
        })
        .collect();
    assert_eq!(
        got, want,
        "{name}: (requests, timeouts, near_limit) per route"
    );
    assert_eq!(
        a.summary.log_events,
        truth["log_events"].as_u64().unwrap(),
        "{name}: log events"
    );
    assert_eq!(a.summary.unrecognised_lines, 0, "{name}");
    assert_eq!(
        a.summary.errors, 0,
        "{name}: the generator makes no integration errors"
    );
}

#[test]
fn exec_16k() {
    check("exec-16k");
}
#[test]
fn exec_256k() {
    check("exec-256k");
}
#[test]
fn exec_1m() {
    check("exec-1m");
}
#[test]
fn exec_huge() {
    check("exec-huge");
}
#[test]
fn access_16k() {
    check("access-16k");
}
#[test]
fn access_256k() {
    check("access-256k");
}
#[test]
fn access_1m() {
    check("access-1m");
}
