use super::*;
use proptest::strategy::Strategy;

const GEN_LINE: &str = r#"{ "requestId": "c0a8", "ip":"203.0.113.9", "caller":"-", "user": "-", "requestTime":"25/Nov/2026:10:10:10 +0000", "httpMethod":"POST", "resourcePath": "/orders", "status":"504", "protocol":"HTTP/1.1", "responseLength": "41", "integrationLatency":"29004", "integrationStatus":"-", "responseLatency": "29006", "errorResponseType":"INTEGRATION_TIMEOUT" }"#;

#[test]
fn request_times_in_every_unit() {
    let http = r#"{"requestId":"KyDfdgZ9oAMEYpA=","routeKey":"GET /x","status":"503","requestTimeEpoch":"1747602530"}"#;
    assert_eq!(
        parse_record(http, None).unwrap().request_time_epoch,
        Some(1_747_602_530_000)
    );
    let rest = r#"{"requestId":"r","status":"200","requestTimeEpoch":1747602530123}"#;
    assert_eq!(
        parse_record(rest, None).unwrap().request_time_epoch,
        Some(1_747_602_530_123)
    );
    let clf = r#"{"requestId":"r","status":"200","requestTime":"18/May/2025:21:08:50 +0200"}"#;
    assert_eq!(
        parse_record(clf, None).unwrap().request_time_epoch,
        Some(1_747_595_330_000)
    );
    // The hand parser agrees with chrono's.
    for t in [
        "01/Jan/1970:00:00:00 +0000",
        "29/Feb/2024:23:59:59 -0730",
        "31/Dec/2099:12:00:00 +1400",
        "25/Nov/2026:10:00:00 +0000",
    ] {
        let chrono = chrono::DateTime::parse_from_str(t, "%d/%b/%Y:%H:%M:%S %z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(clf_time_ms(t), Some(chrono), "{t}");
    }
    assert_eq!(clf_time_ms("25/Nov/2026:10:00:00 0000"), None);
    assert_eq!(clf_time_ms("25/Xyz/2026:10:00:00 +0000"), None);
    let bad = r#"{"requestId":"r","status":"200","requestTime":"yesterday"}"#;
    assert_eq!(parse_record(bad, None).unwrap().request_time_epoch, None);
}

#[test]
fn common_json_names_without_a_format() {
    let r = parse_record(GEN_LINE, None).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("c0a8"));
    assert_eq!(r.status, Some(504));
    assert_eq!(r.integration_latency_ms, Some(29004));
    assert_eq!(r.integration_status, None);
    assert_eq!(
        r.error_response_type.as_deref(),
        Some("INTEGRATION_TIMEOUT")
    );
    assert_eq!(r.resource_path.as_deref(), Some("/orders"));
}

#[test]
fn nested_and_numeric_values() {
    let line = r#"{"requestId":"r1","status":200,"integration":{"latency":123,"error":"-","status":"200"},"error":{"responseType":"-","message":null},"routeKey":"GET /x"}"#;
    let r = parse_record(line, None).unwrap();
    assert_eq!(r.status, Some(200));
    assert_eq!(r.integration_latency_ms, Some(123));
    assert_eq!(r.integration_status, Some(200));
    assert_eq!(r.error_response_type, None);
    assert_eq!(r.route_key.as_deref(), Some("GET /x"));
}

#[test]
fn invalid_json_from_templates_is_still_read() {
    let line = r#"{"requestId":"r2","status":504,"responseLatency":29010,"integrationLatency":-,"errorMessage":""Endpoint request timed out"","responseType":"INTEGRATION_TIMEOUT"}"#;
    let r = parse_record(line, None).unwrap();
    assert_eq!(r.status, Some(504));
    assert_eq!(r.response_latency_ms, Some(29010));
    assert_eq!(r.integration_latency_ms, None);
    assert_eq!(
        r.error_message.as_deref(),
        Some("Endpoint request timed out")
    );
    assert_eq!(
        r.error_response_type.as_deref(),
        Some("INTEGRATION_TIMEOUT")
    );
}

#[test]
fn custom_json_keys_through_the_format() {
    let fmt = AccessFormat::parse(
        r#"{"rid":"$context.requestId","code":"$context.status","il":"$context.integration.latency","why":"$context.error.responseType"}"#,
    )
    .unwrap();
    let r = parse_record(
        r#"{"rid":"a","code":"502","il":"30","why":"INTEGRATION_FAILURE"}"#,
        Some(&fmt),
    )
    .unwrap();
    assert_eq!(r.status, Some(502));
    assert_eq!(r.integration_latency_ms, Some(30));
    assert_eq!(
        r.error_response_type.as_deref(),
        Some("INTEGRATION_FAILURE")
    );
    assert!(parse_record(r#"{"rid":"a"}"#, Some(&fmt)).is_none());
}

#[test]
fn clf_csv_and_xml_formats() {
    let clf = AccessFormat::parse(r#"$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] "$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength $context.requestId $context.integrationLatency"#).unwrap();
    let r = parse_record(r#"203.0.113.1 - - [25/Nov/2026:10:10:10 +0000] "GET /orders/{id} HTTP/1.1" 200 41 r-9 250"#, Some(&clf)).unwrap();
    assert_eq!(r.http_method.as_deref(), Some("GET"));
    assert_eq!(r.resource_path.as_deref(), Some("/orders/{id}"));
    assert_eq!((r.status, r.integration_latency_ms), (Some(200), Some(250)));
    assert_eq!(r.request_id.as_deref(), Some("r-9"));

    let csv = AccessFormat::parse(
        "$context.requestId,$context.status,$context.error.responseType,$context.responseLatency",
    )
    .unwrap();
    let r = parse_record("r1,504,INTEGRATION_TIMEOUT,29011", Some(&csv)).unwrap();
    assert_eq!((r.status, r.response_latency_ms), (Some(504), Some(29011)));

    let xml = AccessFormat::parse(
        r#"<request id="$context.requestId"> <status>$context.status</status> </request>"#,
    )
    .unwrap();
    let r = parse_record(
        r#"<request id="x1"> <status>502</status> </request>"#,
        Some(&xml),
    )
    .unwrap();
    assert_eq!((r.id(), r.status), (Some("x1"), Some(502)));
    assert!(parse_record("garbage", Some(&xml)).is_none());
}

#[test]
fn format_errors() {
    assert_eq!(
        AccessFormat::parse("plain").unwrap_err(),
        FormatError::NoVariables
    );
    assert_eq!(
        AccessFormat::parse("$context.status").unwrap_err(),
        FormatError::NoRequestId
    );
}

#[test]
fn not_access_logs() {
    assert!(parse_record("(abc) Sending request to x", None).is_none());
    assert!(parse_record("{}", None).is_none());
    assert!(parse_record("{\"a\":", None).is_none());
}

/// The serde path alone (what the fast scanner must agree with).
fn via_serde(line: &str) -> AccessRecord<'_> {
    let memo = KeyMemo::default();
    let keys = KeyLookup(None, &memo);
    let mut rec = AccessRecord::default();
    let mut de = serde_json::Deserializer::from_str(line);
    Collector {
        keys: &keys,
        parent: None,
        out: &mut rec,
    }
    .deserialize(&mut de)
    .unwrap();
    rec
}

#[test]
fn fast_scanner_leaves_what_it_cannot_read_to_serde() {
    let memo = KeyMemo::default();
    let keys = KeyLookup(None, &memo);
    for line in [
        r#"{"requestId":"a\"b","status":"200"}"#,
        r#"{"requestId":"a","ctx":{"status":"200"}}"#,
        r#"{"requestId":"a","status":NaN}"#,
        r#"{"requestId":"a","status":"200"} trailing"#,
        r#"{"requestId":"a" "status":"200"}"#,
    ] {
        assert!(scan_flat_json(line, &keys, false).is_none(), "{line}");
    }
    assert_eq!(
        parse_record(r#"{"requestId":"a\"b","ctx":{"status":"504"}}"#, None)
            .unwrap()
            .status,
        Some(504)
    );
}

proptest::proptest! {
    #[test]
    fn fast_scanner_agrees_with_serde(
        members in proptest::collection::vec((
            proptest::sample::select(vec!["requestId", "status", "integrationLatency",
                "httpMethod", "resourcePath", "errorResponseType", "ip", "routeKey"]),
            proptest::prop_oneof![
                "[ a-zA-Z0-9/{}:.+-]{0,12}".prop_map(|s| format!("\"{s}\"")),
                (0u32..100_000).prop_map(|n| n.to_string()),
                proptest::sample::select(vec!["null".to_owned(), "true".to_owned(), "-1.5e3".to_owned()]),
            ],
        ), 0..8),
        ws in proptest::sample::select(vec!["", " ", "\n  "]),
    ) {
        let body: Vec<String> = members.iter().map(|(k, v)| format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}")).collect();
        let line = format!("{{{}}}", body.join(","));
        let memo = KeyMemo::default();
        let fast = scan_flat_json(&line, &KeyLookup(None, &memo), false);
        proptest::prop_assert_eq!(&fast, &Some(via_serde(&line)), "{}", line);
        // The same record still escaped inside a subscription document's string.
        let quoted = serde_json::to_string(&line).unwrap();
        let escaped = &quoted[1..quoted.len() - 1];
        if !ws.contains('\n') {
            let memo = KeyMemo::default();
            let from_escaped = scan_flat_json(escaped, &KeyLookup(None, &memo), true);
            proptest::prop_assert_eq!(from_escaped, fast, "{}", escaped);
        }
    }

    /// Records read one after another with one memo (as an `AccessParser` reads a
    /// stream) agree with serde, raw and escaped, whether or not their members
    /// start as the last record's did.
    #[test]
    fn remembered_members_agree_with_serde(
        keys in proptest::collection::vec(proptest::sample::select(vec!["requestId",
            "status", "integrationLatency", "httpMethod", "ip", "statusCode"]), 0..6),
        records in proptest::collection::vec(proptest::collection::vec((
            proptest::prop_oneof![
                "[ a-z0-9/-]{0,12}".prop_map(|s| format!("\"{s}\"")),
                (0u32..100_000).prop_map(|n| n.to_string()),
                proptest::sample::select(vec!["null".to_owned(), "-1.5e3".to_owned()]),
            ],
            proptest::sample::select(vec!["", " ", "  "]),
            proptest::sample::select(vec!["", " "]),
        ), 6), 1..4),
    ) {
        let memo = KeyMemo::default();
        for members in &records {
            let body: Vec<String> = keys
                .iter()
                .zip(members)
                .map(|(k, (v, before, after))| format!("{before}\"{k}\"{after}:{before}{v}"))
                .collect();
            let line = format!("{{{}}}", body.join(","));
            let fast = scan_flat_json(&line, &KeyLookup(None, &memo), false);
            proptest::prop_assert_eq!(&fast, &Some(via_serde(&line)), "{}", line);
            let quoted = serde_json::to_string(&line).unwrap();
            let escaped = &quoted[1..quoted.len() - 1];
            let from_escaped = scan_flat_json(escaped, &KeyLookup(None, &memo), true);
            proptest::prop_assert_eq!(from_escaped, fast, "{}", escaped);
        }
    }
}
