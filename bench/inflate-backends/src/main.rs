//! Median inflate throughput (decompressed MB/s) of one flate2 backend, chosen at
//! build time, on the gzip payload of each Lambda event file given.
//!
//!     inflate-backends FILE...

use std::io::Read;
use std::time::Instant;

fn backend() -> &'static str {
    if cfg!(feature = "libdeflate") {
        "libdeflate (one shot, ISIZE-sized buffer)"
    } else if cfg!(feature = "zlib-rs") {
        "flate2 zlib-rs"
    } else if cfg!(feature = "zlib-ng") {
        "flate2 zlib-ng (C)"
    } else if cfg!(feature = "zlib") {
        "flate2 zlib (system C zlib)"
    } else {
        "flate2 miniz_oxide"
    }
}

fn inflate(gz: &[u8]) -> usize {
    let isize = u32::from_le_bytes(gz[gz.len() - 4..].try_into().unwrap()) as usize;
    #[cfg(feature = "libdeflate")]
    {
        let mut out = vec![0u8; isize];
        return libdeflater::Decompressor::new()
            .gzip_decompress(gz, &mut out)
            .unwrap();
    }
    #[allow(unreachable_code)]
    {
        let mut out = Vec::with_capacity(isize);
        flate2::bufread::MultiGzDecoder::new(gz)
            .read_to_end(&mut out)
            .unwrap();
        out.len()
    }
}

fn main() {
    use base64::Engine as _;
    for path in std::env::args().skip(1) {
        let event: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let gz = base64::engine::general_purpose::STANDARD
            .decode(event["awslogs"]["data"].as_str().unwrap())
            .unwrap();
        let mut times = Vec::new();
        let mut bytes = 0;
        let started = Instant::now();
        while times.len() < 5 || (started.elapsed().as_secs_f64() < 1.0 && times.len() < 1000) {
            let t = Instant::now();
            bytes = std::hint::black_box(inflate(&gz));
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let name = std::path::Path::new(&path).file_stem().unwrap().to_string_lossy();
        println!(
            "{:44} {name:12} {:8.1} MB/s",
            backend(),
            bytes as f64 / median / 1e6
        );
    }
}
