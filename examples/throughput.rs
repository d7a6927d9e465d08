//! Throughput and memory of the engine next to the raw ceiling, on one Lambda event file.
//! Used by `make compare` (bench/compare.py); criterion benches are in benches/.
//!
//!     throughput MODE FILE [ITERATIONS]
//!
//! MODE `ceiling`: what any handler must do before analysing anything: base64, inflate,
//! and a serde_json parse of the document (into `serde_json::Value`, the straightforward way).
//! MODE `engine`: apigw-doctor's whole engine: decode, parse, group, find, diagnose.
//! MODE `init`: nothing (for the process's baseline RSS).
//! Prints one JSON line: median seconds per run, decompressed MB/s, and the engine's counts.

use std::io::Read;
use std::time::Instant;

use apigw_doctor::engine::analysis::Analyzer;

use apigw_doctor::engine::config::EngineConfig;
use apigw_doctor::logs::envelope;

fn ceiling(event: &[u8]) -> usize {
    use base64::Engine as _;
    let v: serde_json::Value = serde_json::from_slice(event).expect("event JSON");
    let data = v["awslogs"]["data"].as_str().expect("awslogs.data");
    let gz = base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("base64");
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .expect("gzip");
    let doc: serde_json::Value = serde_json::from_slice(&raw).expect("document");
    std::hint::black_box(doc["logEvents"].as_array().map_or(0, Vec::len));
    raw.len()
}

fn engine(event: &[u8], config: &EngineConfig) -> (usize, [u64; 3]) {
    let inflated =
        envelope::decode_lambda_event(event, envelope::DEFAULT_MAX_DECOMPRESSED).expect("decode");
    let mut analyzer = Analyzer::new(config);
    let mut bytes = 0;
    for i in &inflated {
        bytes += i.bytes.len();
        envelope::visit_documents(&i.bytes, &i.origin, &mut analyzer).expect("documents");
    }
    // As the handler does: the requests own what they keep, so the batch can go first.
    drop(inflated);
    let t = Instant::now();
    let (a, _) = analyzer.finish();
    if std::env::var_os("THROUGHPUT_SPLIT").is_some() {
        eprintln!("finish: {:?}", t.elapsed());
    }
    (
        bytes,
        [a.summary.requests, a.summary.timeouts, a.summary.near_limit],
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, path) = (args[1].as_str(), &args[2]);
    let iterations: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let event = std::fs::read(path).expect("read");
    let config = EngineConfig::default();
    let mut times = Vec::with_capacity(iterations);
    let mut bytes = 0;
    let mut counts = [0; 3];
    for _ in 0..iterations {
        let t = Instant::now();
        match mode {
            "ceiling" => bytes = ceiling(&event),
            "engine" => (bytes, counts) = engine(&event, &config),
            "init" => {}
            other => panic!("unknown mode {other}"),
        }
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{{\"mode\":\"{mode}\",\"file\":\"{path}\",\"decompressed_bytes\":{bytes},\"median_s\":{median:.6},\"mb_per_s\":{:.1},\"requests\":{},\"timeouts\":{},\"near_limit\":{}}}",
        if median > 0.0 { bytes as f64 / median / 1e6 } else { 0.0 },
        counts[0],
        counts[1],
        counts[2]
    );
}
