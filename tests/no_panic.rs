//! Untrusted bytes never panic the engine: property tests over every entry point
//! that reads them (the fuzz targets in fuzz/ cover the same functions more deeply).

use apigw_doctor::engine::analysis::Analyzer;

use apigw_doctor::engine::config::EngineConfig;

use apigw_doctor::logs::access_log::{self, AccessFormat};
use apigw_doctor::logs::envelope::Source;
use apigw_doctor::logs::envelope::{self, Origin};
use apigw_doctor::logs::execution_log;
use apigw_doctor::logs::input::{self, InputKind};
use proptest::prelude::*;

/// Strings made of the pieces real lines are made of, so that the search goes deep.
fn line_like() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "(",
        ")",
        " ",
        "abc-123",
        "PDS1PEC4oAMFpyA=",
        "Execution failed due to ",
        "a timeout error",
        "configuration error: ",
        "Received response. ",
        "Status: ",
        "Integration latency: ",
        " ms",
        "999999999999999999999",
        "Method completed with status: ",
        "Lambda execution failed with status ",
        ". Lambda request id: ",
        "Sending request to ",
        "https://",
        "lambda.",
        ".amazonaws.com/",
        "functions/",
        "arn:aws:lambda:x:1:function:f",
        "/invocations",
        "API Key authorized because method '",
        "'",
        "HTTP Method: ",
        ", Resource Path: ",
        "{",
        "}",
        "=",
        ", ",
        "\n",
        "\"",
        ":",
        "-",
        "$context.",
        "status",
        "requestId",
        "integrationLatency",
        "REPORT RequestId: ",
        "START RequestId: ",
        "END RequestId: ",
        "Duration: ",
        "Init Duration: ",
        "Status: timeout",
        "\t",
        "XRAY TraceId: ",
        "1-5e1b4151-5ac6c58f5b5dbd6a1e6d2d8c",
        "X-ray Tracing ID : Root=",
        "{\"type\":\"platform.report\",\"record\":{\"requestId\":\"a\",\"metrics\":{\"durationMs\":",
        "{\"type\":\"platform.start\",\"record\":{\"requestId\":\"a\",\"tracing\":{\"value\":\"Root=",
        "}}",
        "Task timed out after ",
        "é",
        "\u{0}",
        "[TRUNCATED]",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn execution_lines(s in line_like()) {
        if let Some((_, text)) = execution_log::split_request_id(&s) {
            let _ = execution_log::parse_line(text);
        }
        let _ = execution_log::parse_line(&s);
    }

    #[test]
    fn access_records_and_formats(s in line_like(), f in line_like()) {
        let _ = access_log::parse_record(&s, None);
        let _ = access_log::AccessParser::new(None).parse_escaped(&s);
        if let Ok(fmt) = AccessFormat::parse(&f) {
            let _ = access_log::parse_record(&s, Some(&fmt));
            let _ = access_log::AccessParser::new(Some(fmt)).parse_escaped(&s);
        }
    }

    #[test]
    fn the_engine_on_any_message(msgs in prop::collection::vec(line_like(), 0..20), group in prop::sample::select(vec![
        "", "API-Gateway-Execution-Logs_a/b", "/aws/lambda/f", "access"])) {
        let cfg = EngineConfig::default();
        let mut a = Analyzer::new(&cfg);
        for (i, m) in msgs.iter().enumerate() {
            a.add_event(Source { log_group: group, log_stream: "s" }, "id", i as i64, m);
        }
        let (analysis, _) = a.finish();
        let _ = apigw_doctor::render::report::text(&analysis);
        let _ = apigw_doctor::render::report::json(&analysis);
    }

    /// Backend runs joined at any times (timestamps are the logs' own, untrusted).
    #[test]
    fn backend_runs_at_any_time(
        lines in prop::collection::vec((line_like(), any::<i64>()), 0..12),
        fn_lines in prop::collection::vec((line_like(), any::<i64>()), 0..12),
        sent in any::<i64>(),
        waited in any::<i64>(),
        trace in any::<bool>(),
    ) {
        let cfg = EngineConfig::default();
        let mut a = Analyzer::new(&cfg).with_complete_function_logs();
        let exec = Source { log_group: "API-Gateway-Execution-Logs_a/b", log_stream: "s" };
        let func = Source { log_group: "/aws/lambda/f", log_stream: "s" };
        // One real timeout on the function, at any time; the rest is noise.
        a.add_event(exec, "t1", sent, "(r) Sending request to https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:x:1:function:f/invocations");
        if trace {
            a.add_event(exec, "t2", sent, "(r) X-ray Tracing ID : Root=1-5e1b4151-5ac6c58f5b5dbd6a1e6d2d8c");
        }
        a.add_event(exec, "t3", sent.saturating_add(waited), "(r) Execution failed due to a timeout error");
        for (i, (m, ts)) in lines.iter().enumerate() {
            a.add_event(exec, &i.to_string(), *ts, &format!("(r) {m}"));
        }
        for (i, (m, ts)) in fn_lines.iter().enumerate() {
            let _ = apigw_doctor::logs::function_log::parse_line(m);
            a.add_event(func, &i.to_string(), *ts, m);
        }
        let (analysis, _) = a.finish();
        let _ = apigw_doctor::render::report::json(&analysis);
        for f in &analysis.findings {
            if let Some(plan) = &f.run.lookup {
                let events: Vec<(i64, &str)> = fn_lines.iter().map(|(m, t)| (*t, m.as_str())).collect();
                let _ = apigw_doctor::engine::backend_run::join_looked_up(plan, &events, true);
            }
        }
    }

    #[test]
    fn envelope_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = envelope::decode_lambda_event(&bytes, 1 << 20);
        let _ = envelope::inflate(&bytes, 1 << 20, Origin::at("t"));
        let _ = envelope::parse_documents(&bytes, &Origin::at("t"));
        let _ = envelope::decode_base64(&bytes, &Origin::at("t"));
    }

    /// Real gzip, then broken: libdeflate (the crate's only `unsafe`) sees every member
    /// first. Intact members read back exactly; broken ones fail or stay under the cap.
    #[test]
    fn inflate_on_broken_gzip(
        members in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..4),
        cut in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        how in 0u8..4,
    ) {
        use std::io::Write;
        let mut gz = Vec::new();
        for m in &members {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(m).unwrap();
            gz.extend(e.finish().unwrap());
        }
        let at = cut.index(gz.len());
        match how {
            0 => {
                let out = envelope::inflate(&gz, 1 << 20, Origin::at("t")).unwrap();
                prop_assert_eq!(out.bytes, members.concat());
                return Ok(());
            }
            1 => gz.truncate(at),
            2 => gz[at] ^= byte | 1,
            _ => gz.insert(at, byte),
        }
        if let Ok(out) = envelope::inflate(&gz, 1000, Origin::at("t")) {
            prop_assert!(out.bytes.len() <= 1000);
        }
    }

    #[test]
    fn cli_inputs_on_any_text(s in line_like()) {
        let cfg = EngineConfig::default();
        let mut a = Analyzer::new(&cfg);
        for kind in [InputKind::Auto, InputKind::Console, InputKind::TestInvoke, InputKind::Lines, InputKind::AwsLogs] {
            let _ = input::feed(s.as_bytes(), kind, "t", "", 1 << 20, &mut a);
        }
        let _ = a.finish();
    }
}
