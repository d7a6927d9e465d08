//! The hand-written reader of subscription documents (`envelope::visit_documents`)
//! reads every document exactly as serde_json does: same documents, same events,
//! same order; and where serde_json accepts a payload, so does it.

use apigw_doctor::logs::envelope::{self, EventVisitor, Header, LogEvent, Origin};
use proptest::prelude::*;

/// Every call a visitor receives, with the message unescaped.
#[derive(Default, Debug, PartialEq)]
struct Record(Vec<String>);

impl<'a> EventVisitor<'a> for Record {
    fn document(&mut self, h: &Header<'a>) {
        let (t, o, g, s) = (&h.message_type, &h.owner, &h.log_group, &h.log_stream);
        self.0.push(format!("document {t:?} {o:?} {g:?} {s:?}"));
    }
    fn event(&mut self, h: &Header<'a>, e: LogEvent<'a>) {
        let (g, id, ts, m) = (&h.log_group, &e.id, e.timestamp, &e.message);
        self.0.push(format!("event {g:?} {id:?} {ts} {m:?}"));
    }
}

fn fast(bytes: &[u8]) -> Result<Record, String> {
    let mut r = Record::default();
    envelope::visit_documents(bytes, &Origin::at("t"), &mut r).map_err(|e| e.to_string())?;
    Ok(r)
}

fn reference(bytes: &[u8]) -> Result<Record, String> {
    let mut r = Record::default();
    match envelope::visit_documents_with_serde(bytes, &mut r)? {
        0 => Err("empty payload".into()),
        _ => Ok(r),
    }
}

/// Text that exercises escapes: quotes, backslashes, control characters, non-ASCII.
fn text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a",
        "(id) ",
        "\"",
        "\\",
        "\\\"",
        "\n",
        "\t",
        "\u{1}",
        "é",
        "😀",
        "/",
        " ",
        "{\"k\":1}",
        "\u{7f}",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", "", " ", "\n  ", "\t\r\n"])
}

/// Any JSON value for a field nobody reads.
fn unknown_value() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "null",
        "true",
        "1.5e3",
        "-0",
        "[]",
        "{}",
        "[\"f\", {\"a\": [1, {\"b\": null}]}]",
        "\"ACCOUNT_LEVEL_POLICY\"",
        "\"with \\\"escapes\\\" \\u00e9\"",
    ])
    .prop_map(str::to_owned)
}

fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn timestamp() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|t| t.to_string()),
        (0i64..2_000_000_000_000).prop_map(|t| t.to_string()),
        Just("0".to_owned()),
        Just("1e3".to_owned()),
        Just("123456789012345678901".to_owned()),
    ]
}

/// One event object: some of its fields, in any order, with whitespace and extras.
fn event() -> impl Strategy<Value = String> {
    (
        text(),
        timestamp(),
        text(),
        prop::option::of(unknown_value()),
        any::<[bool; 3]>(),
        Just(()).prop_perturb(|_, mut rng| rng.random::<u32>()),
        ws(),
    )
        .prop_map(|(id, ts, msg, extra, present, order, w)| {
            let mut fields = Vec::new();
            if present[0] {
                fields.push(format!("\"id\"{w}:{w}{}", json(&id)));
            }
            if present[1] {
                fields.push(format!("\"timestamp\":{ts}"));
            }
            if present[2] || order % 7 != 0 {
                fields.push(format!("\"message\":{w}{}", json(&msg)));
            }
            if let Some(x) = extra {
                fields.push(format!("\"ingestionTime\":{x}"));
            }
            let turn = order as usize % fields.len().max(1);
            fields.rotate_left(turn);
            format!("{w}{{{w}{}{w}}}", fields.join(","))
        })
}

/// A document: the header fields and `logEvents`, some missing, in any order.
fn document() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["DATA_MESSAGE", "CONTROL_MESSAGE", "x\\\"y"]),
        text(),
        text(),
        prop::collection::vec(event(), 0..6),
        prop::collection::vec(event(), 0..2),
        any::<[bool; 5]>(),
        any::<u8>(),
        ws(),
        unknown_value(),
    )
        .prop_map(
            |(kind, group, stream, events, more, present, order, w, extra)| {
                let mut fields = vec![
                    format!("\"messageType\":\"{kind}\""),
                    format!("\"owner\":\"123456789012\""),
                    format!("\"logGroup\":{w}{}", json(&group)),
                    format!("\"logStream\":{}", json(&stream)),
                    format!("\"subscriptionFilters\":[\"f\"],{w}\"policyLevel\":{extra}"),
                ];
                // Absent fields, mostly not: AWS always sends all of them.
                for (i, p) in present.iter().enumerate() {
                    if !p && order % 5 == i as u8 {
                        fields[i].clear();
                    }
                }
                fields.retain(|f| !f.is_empty());
                let events = format!("\"logEvents\":{w}[{}]", events.join(","));
                let place = if order < 200 {
                    fields.len()
                } else {
                    order as usize % (fields.len() + 1)
                };
                fields.insert(place, events);
                if order % 11 == 0 {
                    fields.push(format!("\"logEvents\":[{}]", more.join(",")));
                }
                if order % 13 == 0 {
                    fields.push("\"\\u006cogGroup\":\"escaped key\"".to_owned());
                }
                format!("{w}{{{}}}{w}", fields.join(&format!(",{w}")))
            },
        )
}

fn payload() -> impl Strategy<Value = String> {
    prop::collection::vec(document(), 0..3).prop_map(|d| d.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn same_reading_as_serde_json(p in payload()) {
        let want = reference(p.as_bytes());
        let got = fast(p.as_bytes());
        match (&want, &got) {
            (Ok(w), Ok(g)) => prop_assert_eq!(w, g),
            (Err(_), Err(_)) => {}
            _ => prop_assert!(false, "serde_json {want:?} but visit_documents {got:?} on {p}"),
        }
    }

    /// Broken payloads: never a panic; whatever serde_json accepts is read the same.
    #[test]
    fn broken_payloads(p in payload(), cut in any::<prop::sample::Index>(), byte in any::<u8>(), how in 0u8..3) {
        let mut bytes = p.into_bytes();
        if !bytes.is_empty() {
            let at = cut.index(bytes.len());
            match how {
                0 => bytes.truncate(at),
                1 => bytes[at] = byte,
                _ => bytes.insert(at, byte),
            }
        }
        let got = fast(&bytes);
        if let Ok(w) = reference(&bytes) {
            prop_assert_eq!(Ok(w), got);
        }
    }
}

#[test]
fn errors_read_as_serde_json_words_them() {
    let bad = br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"e1","timestamp":"x","message":"m"}]}"#;
    let err = fast(bad).unwrap_err();
    assert!(
        err.contains("invalid type: string \"x\", expected i64"),
        "{err}"
    );
    assert!(fast(b"[1]")
        .unwrap_err()
        .contains("expected a CloudWatch Logs subscription document"));
    let dup = br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","id":"2","message":"m"}]}"#;
    assert!(fast(dup).unwrap_err().contains("duplicate field `id`"));
}

#[test]
fn messages_borrow_and_escapes_reach_the_visitor_as_they_stand() {
    struct Kinds(Vec<(bool, String)>);
    impl<'a> EventVisitor<'a> for Kinds {
        fn document(&mut self, _: &Header<'a>) {}
        fn event(&mut self, _: &Header<'a>, e: LogEvent<'a>) {
            let borrowed = matches!(e.message, std::borrow::Cow::Borrowed(_));
            self.0.push((borrowed, e.message.into_owned()));
        }
        fn escaped_event(
            &mut self,
            _: &Header<'a>,
            _: std::borrow::Cow<'a, str>,
            _: i64,
            escaped: &'a str,
        ) {
            self.0.push((true, format!("escaped {escaped}")));
        }
    }
    let doc = br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"plain"},{"id":"2","timestamp":2,"message":"{\"status\":\"504\"}"}]}"#;
    let mut k = Kinds(Vec::new());
    envelope::visit_documents(doc, &Origin::at("t"), &mut k).unwrap();
    assert_eq!(
        k.0,
        vec![
            (true, "plain".to_owned()),
            (true, r#"escaped {\"status\":\"504\"}"#.to_owned())
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    /// `unescape` decodes a string's inside as serde_json does, and keeps as it stands
    /// whatever serde_json refuses.
    #[test]
    fn unescape_reads_as_serde_json(parts in prop::collection::vec(prop::sample::select(vec![
        "\\", "\"", "\\\"", "\\\\", "\\u", "d83d", "de00", "DC00", "00e9", "0000", "zz", "n", "t", "b",
        "\\/", "\\x", "\u{1}", "é", "a", "/", "\\ud800", "\\udc00", "\\u00", "dfff", "DBFF", "\\ud83d", "\\uDFFF",
    ]), 0..10)) {
        let s = parts.concat();
        let want = serde_json::from_str::<String>(&format!("\"{s}\"")).unwrap_or_else(|_| s.clone());
        let got = envelope::unescape(&s);
        prop_assert_eq!(got.as_ref(), want.as_str());
    }
}

/// The Analyzer, without its in-place reading of access-log records.
struct NoInPlace<'c>(apigw_doctor::engine::analysis::Analyzer<'c>);

impl<'a> EventVisitor<'a> for NoInPlace<'_> {
    fn document(&mut self, h: &Header<'a>) {
        self.0.document(h);
    }
    fn event(&mut self, h: &Header<'a>, e: LogEvent<'a>) {
        self.0.event(h, e);
    }
    fn escaped_event(
        &mut self,
        h: &Header<'a>,
        id: std::borrow::Cow<'a, str>,
        ts: i64,
        escaped: &'a str,
    ) {
        self.0.escaped_event(h, id, ts, escaped);
    }
}

/// An access-log message: mostly flat JSON records, some not quite.
fn access_message() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "requestId",
        "status",
        "integrationLatency",
        "responseLatency",
        "routeKey",
        "httpMethod",
        "resourcePath",
        "apiId",
        "stage",
        "errorMessage",
        "integrationErrorMessage",
        "x",
    ]);
    let value = prop_oneof![
        text().prop_map(serde_json::Value::from),
        (0u64..40_000).prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("504")),
        Just(serde_json::Value::from("-")),
        Just(serde_json::Value::Null),
        Just(serde_json::json!({"nested": 1})),
    ];
    (prop::collection::vec((key, value), 0..8), ws(), 0u8..10).prop_map(|(fields, w, shape)| {
        let body = fields
            .iter()
            .map(|(k, v)| format!("\"{k}\":{w}{v}"))
            .collect::<Vec<_>>()
            .join(",");
        match shape {
            0 => format!(" {{{body}}}"),
            1 => format!("{{{body}}}\" tail"),
            2 => format!("{{{body}"),
            _ => format!("{{{body}}}{w}"),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Reading access-log records in place changes nothing in the analysis.
    #[test]
    fn access_records_in_place_read_as_delivered(
        messages in prop::collection::vec(access_message(), 1..8),
        group in prop::sample::select(vec!["/aws/apigateway/access", "API-Gateway-Execution-Logs_a/b"]),
        id_first in any::<bool>(),
    ) {
        let events: Vec<String> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| match id_first {
                true => format!(r#"{{"id":"{i}","timestamp":{i},"message":{}}}"#, json(m)),
                false => format!(r#"{{"message":{},"id":"{i}","timestamp":{i}}}"#, json(m)),
            })
            .collect();
        let doc = format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"{group}","logStream":"s","logEvents":[{}]}}"#,
            events.join(",")
        );
        let config = apigw_doctor::engine::config::EngineConfig::default();
        let mut fast = apigw_doctor::engine::analysis::Analyzer::new(&config);
        envelope::visit_documents(doc.as_bytes(), &Origin::at("t"), &mut fast).unwrap();
        let mut plain = NoInPlace(apigw_doctor::engine::analysis::Analyzer::new(&config));
        envelope::visit_documents(doc.as_bytes(), &Origin::at("t"), &mut plain).unwrap();
        let (a, _) = fast.finish();
        let (b, _) = plain.0.finish();
        prop_assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    }
}
