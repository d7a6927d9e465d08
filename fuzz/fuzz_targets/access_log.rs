#![no_main]
//! Any text as access-log records (JSON or not), without and with a format, and escaped.
use apigw_doctor::logs::access_log::{self, AccessFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = access_log::parse_record(text, None);
    let clf = AccessFormat::parse("$context.requestId [$context.requestTime] \"$context.httpMethod $context.resourcePath\" $context.status $context.integrationLatency").unwrap();
    let _ = access_log::parse_record(text, Some(&clf));
    // As still escaped inside a subscription document's string.
    let _ = access_log::AccessParser::new(None).parse_escaped(text);
});
