#![no_main]
//! Any text as a `$context` format string; the compiled format then reads the same text.
use apigw_doctor::logs::access_log::{self, AccessFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: (&str, &str)| {
    if let Ok(format) = AccessFormat::parse(data.0) {
        let _ = access_log::parse_record(data.1, Some(&format));
    }
});
