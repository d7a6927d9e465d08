//! Criterion benches on the batches of shared/bench/gen_batches.py (generated into
//! target/gen-batches by `make bench`): envelope decode, execution-log and access-log
//! parsing, and the whole engine per batch. Throughput is in decompressed bytes.

use std::path::PathBuf;

use apigw_doctor::engine::analysis::Analyzer;

use apigw_doctor::engine::config::EngineConfig;
use apigw_doctor::logs::access_log::AccessParser;
use apigw_doctor::logs::envelope::{self, DEFAULT_MAX_DECOMPRESSED};
use apigw_doctor::logs::execution_log;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const BATCHES: &[&str] = &[
    "exec-16k",
    "exec-256k",
    "exec-1m",
    "exec-huge",
    "access-16k",
    "access-256k",
    "access-1m",
];

fn load(name: &str) -> Option<(Vec<u8>, usize)> {
    let dir = std::env::var_os("APIGW_DOCTOR_BATCHES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/gen-batches"));
    let event = std::fs::read(dir.join(format!("{name}.json"))).ok()?;
    let raw = envelope::decode_lambda_event(&event, DEFAULT_MAX_DECOMPRESSED).ok()?[0]
        .bytes
        .len();
    Some((event, raw))
}

fn benches(c: &mut Criterion) {
    let config = EngineConfig::default();
    let mut decode = c.benchmark_group("envelope_decode");
    for name in BATCHES {
        let Some((event, raw)) = load(name) else {
            continue;
        };
        decode.throughput(Throughput::Bytes(raw as u64));
        decode.bench_with_input(BenchmarkId::from_parameter(name), &event, |b, e| {
            b.iter(|| envelope::decode_lambda_event(e, DEFAULT_MAX_DECOMPRESSED).unwrap())
        });
    }
    decode.finish();

    let mut parse = c.benchmark_group("parse_lines");
    for name in BATCHES {
        let Some((event, raw)) = load(name) else {
            continue;
        };
        let inflated = envelope::decode_lambda_event(&event, DEFAULT_MAX_DECOMPRESSED).unwrap();
        let docs = envelope::documents(&inflated[0]).unwrap();
        parse.throughput(Throughput::Bytes(raw as u64));
        let access = AccessParser::new(None);
        parse.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for ev in &docs[0].log_events {
                    if let Some((_, text)) = execution_log::split_request_id(&ev.message) {
                        n += !matches!(
                            execution_log::parse_line(text),
                            execution_log::Line::Unrecognised
                        ) as usize;
                    } else if access.parse(&ev.message).is_some() {
                        n += 1;
                    }
                }
                n
            })
        });
    }
    parse.finish();

    let mut engine = c.benchmark_group("engine_per_batch");
    for name in BATCHES {
        let Some((event, raw)) = load(name) else {
            continue;
        };
        engine.throughput(Throughput::Bytes(raw as u64));
        engine.bench_with_input(BenchmarkId::from_parameter(name), &event, |b, e| {
            b.iter(|| {
                let inflated = envelope::decode_lambda_event(e, DEFAULT_MAX_DECOMPRESSED).unwrap();
                let mut a = Analyzer::new(&config);
                envelope::visit_documents(&inflated[0].bytes, &inflated[0].origin, &mut a).unwrap();
                a.finish().0.summary
            })
        });
    }
    engine.finish();
}

criterion_group! {
    name = engine;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(engine);
