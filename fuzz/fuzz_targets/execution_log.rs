#![no_main]
//! Any text as execution-log messages of one stream, through the whole engine and both reports.
use apigw_doctor::engine::analysis::Analyzer;
use apigw_doctor::engine::config::EngineConfig;
use apigw_doctor::logs::envelope::Source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let config = EngineConfig::default();
    let mut a = Analyzer::new(&config);
    let src = Source { log_group: "API-Gateway-Execution-Logs_a/b", log_stream: "s" };
    for (i, line) in text.split('\n').enumerate() {
        a.add_event(src, "e", i as i64, line);
    }
    let (analysis, _) = a.finish();
    let _ = apigw_doctor::render::report::text(&analysis);
    let _ = apigw_doctor::render::report::json(&analysis);
});
