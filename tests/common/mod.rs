//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod kinesis;
pub mod rest_batch;
pub mod subscription;
pub mod vendor_schemas;

use std::path::{Path, PathBuf};

use apigw_doctor::engine::analysis::{Analysis, Analyzer};

use apigw_doctor::engine::config::EngineConfig;
use apigw_doctor::logs::input::{self, InputKind};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures").join(rel)
}

/// Analyses files as the CLI does (auto-detected, one stream).
pub fn analyze_files(config: &EngineConfig, files: &[&Path]) -> Analysis {
    let mut a = Analyzer::new(config);
    for f in files {
        let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        input::feed(
            &bytes,
            InputKind::Auto,
            &f.display().to_string(),
            "",
            64 << 20,
            &mut a,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    a.finish().0
}

pub fn analyze(file: &Path) -> Analysis {
    analyze_files(&EngineConfig::default(), &[file])
}

/// shared/ sits beside the checkout (CI copies it there); APIGW_DOCTOR_SHARED overrides.
pub fn shared() -> PathBuf {
    std::env::var_os("APIGW_DOCTOR_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"))
}

/// The alerts among what a monitor published.
pub fn alerts(
    p: &[apigw_doctor::monitor::recorder::Published],
) -> Vec<&apigw_doctor::render::alert::Rendered> {
    p.iter()
        .filter_map(|x| match x {
            apigw_doctor::monitor::recorder::Published::Alert(a) => Some(a),
            _ => None,
        })
        .collect()
}

/// The EventBridge schedule's tick, as Lambda receives it (events/schedule.json).
pub fn schedule() -> Vec<u8> {
    std::fs::read(repo().join("events/schedule.json")).unwrap()
}

/// One invocation of `m` with `event` at `now`: its summary and what it published.
pub fn handle(
    m: &apigw_doctor::lambda::wiring::Recorded,
    event: &[u8],
    now: i64,
) -> (
    apigw_doctor::monitor::InvocationSummary,
    Vec<apigw_doctor::monitor::recorder::Published>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(m.handle_at(event, None, now)).unwrap();
    (s, m.take())
}
