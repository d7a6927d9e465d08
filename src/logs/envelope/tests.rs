use super::*;
use flate2::write::GzEncoder;
use std::io::Write;

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

const DOC: &str = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"policyLevel":"ACCOUNT_LEVEL_POLICY","logEvents":[{"id":"1","timestamp":5,"message":"(a) hi"}]}"#;

proptest::proptest! {
    #[test]
    fn quote_or_backslash_finds_what_memchr2_finds(
        b in proptest::collection::vec(proptest::sample::select(vec![b'a', b'"', b'\\', 0x22 ^ 0x80, 0x5c ^ 0x80, 0xff, 0]), 0..40),
        from in 0usize..45,
    ) {
        let want = b.get(from..).and_then(|r| memchr::memchr2(b'"', b'\\', r)).map(|j| from + j);
        proptest::prop_assert_eq!(quote_or_backslash(&b, from), want);
    }
}

#[test]
fn padded_and_unpadded_base64() {
    let o = Origin::at("t");
    assert_eq!(decode_base64(b"aGk=", &o).unwrap(), b"hi");
    assert_eq!(decode_base64(b"aGk", &o).unwrap(), b"hi");
    assert!(matches!(
        decode_base64(b"a*b", &o),
        Err(EnvelopeError::Base64 { .. })
    ));
}

#[test]
fn multi_member_gzip_is_read_whole() {
    let mut two = gz(b"hello ");
    two.extend(gz(b"world"));
    let out = inflate(&two, 100, Origin::at("t")).unwrap();
    assert_eq!(out.bytes, b"hello world");
    assert_eq!(out.trailing_garbage, 0);
}

#[test]
fn every_member_is_read_whichever_inflater_reads_it() {
    // Same size as the last member: all three fit libdeflate's ISIZE-sized buffer.
    let mut three = gz(b"abc");
    three.extend(gz(b"abc"));
    three.extend(gz(b"xyz"));
    assert_eq!(
        inflate(&three, 100, Origin::at("t")).unwrap().bytes,
        b"abcabcxyz"
    );
    // Bigger than the last member: that one goes to flate2.
    let mut mixed = gz(&[b'a'; 5000]);
    mixed.extend(gz(b"end"));
    let out = inflate(&mixed, 10_000, Origin::at("t")).unwrap().bytes;
    assert_eq!((out.len(), &out[4998..]), (5003, &b"aaend"[..]));
    // A corrupt member after a good one: flate2 names the problem.
    let mut bad = gz(b"abc");
    let mut broken = gz(b"xyz");
    broken[12] ^= 0xff;
    bad.extend(broken);
    assert!(matches!(
        inflate(&bad, 100, Origin::at("t")),
        Err(EnvelopeError::Gzip { .. })
    ));
}

#[test]
fn trailing_garbage_is_reported_not_decoded() {
    let mut data = gz(b"abc");
    data.extend(b"\0\0junk");
    let out = inflate(&data, 100, Origin::at("t")).unwrap();
    assert_eq!(out.bytes, b"abc");
    assert_eq!(out.trailing_garbage, 6);
}

#[test]
fn cap_is_enforced() {
    let data = gz(&vec![0u8; 10_000]);
    let err = inflate(&data, 9_999, Origin::at("t")).unwrap_err();
    assert!(matches!(err, EnvelopeError::TooLarge { limit: 9_999, .. }));
    assert!(inflate(&data, 10_000, Origin::at("t")).is_ok());
}

#[test]
fn not_gzip_and_truncated() {
    assert!(matches!(
        inflate(b"{\"a\":1}", 100, Origin::at("t")),
        Err(EnvelopeError::NotGzip { .. })
    ));
    let data = gz(b"some longer text that compresses somewhat");
    assert!(matches!(
        inflate(&data[..data.len() - 6], 100, Origin::at("t")),
        Err(EnvelopeError::Gzip { .. })
    ));
}

#[test]
fn document_tolerates_unknown_fields_and_borrows() {
    let docs = parse_documents(DOC.as_bytes(), &Origin::at("t")).unwrap();
    assert_eq!(docs.len(), 1);
    assert!(matches!(docs[0].log_events[0].message, Cow::Borrowed(_)));
    assert_eq!(docs[0].log_group, "g");
    assert_eq!(docs[0].message_type, "DATA_MESSAGE");
}

#[test]
fn wrong_shape_names_the_batch() {
    let bad = r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"e1","timestamp":"x","message":"m"}]}"#;
    let err = parse_documents(bad.as_bytes(), &Origin::at("t")).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("log group g") && text.contains("first event id e1"),
        "{text}"
    );
}

#[test]
fn lambda_and_kinesis_events() {
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    let data = STANDARD_NO_PAD.encode(gz(DOC.as_bytes()));
    let ev = format!(r#"{{"awslogs":{{"data":"{data}"}}}}"#);
    let out = decode_lambda_event(ev.as_bytes(), 1 << 20).unwrap();
    assert_eq!(documents(&out[0]).unwrap()[0].log_events.len(), 1);
    let kin = format!(
        r#"{{"Records":[{{"eventID":"shardId-0:1","kinesis":{{"data":"{data}","partitionKey":"p"}}}},{{"kinesis":{{"data":"{data}"}}}}]}}"#
    );
    assert_eq!(
        decode_lambda_event(kin.as_bytes(), 1 << 20).unwrap().len(),
        2
    );
    let err = decode_lambda_event(
        br#"{"Records":[{"kinesis":{"data":"!!"},"eventID":"x1"}]}"#,
        10,
    )
    .unwrap_err();
    assert!(err.to_string().contains("Records[0] (x1)"));
    assert!(decode_lambda_event(b"{}", 10).is_err());
    assert!(decode_lambda_event(b"", 10).is_err());
}

#[test]
fn events_stream_in_order_whatever_the_field_order() {
    let late_header = r#"{"logEvents":[{"id":"1","timestamp":5,"message":"m1"}],"messageType":"DATA_MESSAGE","logGroup":"g2","logStream":"s"}"#;
    let two = format!("{DOC}\n{late_header}");
    let docs = parse_documents(two.as_bytes(), &Origin::at("t")).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!((&*docs[1].log_group, docs[1].log_events.len()), ("g2", 1));
    let err = parse_documents(br#"{"logGroup":"g","logEvents":[]}"#, &Origin::at("t")).unwrap_err();
    assert!(err.to_string().contains("messageType"), "{err}");
    assert!(parse_documents(b"  \n ", &Origin::at("t")).is_err());
}
