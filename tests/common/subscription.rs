//! A CloudWatch Logs subscription delivery as Lambda receives it:
//! `{"awslogs":{"data": base64(gzip(document))}}`, for the tests that drive the handler.
#![allow(dead_code)]

use std::io::Write as _;

use base64::Engine as _;

/// The Lambda event for `events` (`{"id", "timestamp", "message"}` each) of one stream.
pub fn lambda_event(log_group: &str, log_stream: &str, events: &[serde_json::Value]) -> Vec<u8> {
    lambda_event_of("123456789012", log_group, log_stream, events)
}

/// As [`lambda_event`], from the account `owner`.
pub fn lambda_event_of(
    owner: &str,
    log_group: &str,
    log_stream: &str,
    events: &[serde_json::Value],
) -> Vec<u8> {
    let doc = serde_json::json!({
        "messageType": "DATA_MESSAGE", "owner": owner,
        "logGroup": log_group, "logStream": log_stream,
        "subscriptionFilters": ["apigw-doctor"], "logEvents": events,
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(doc.to_string().as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    serde_json::json!({"awslogs": {"data": data}})
        .to_string()
        .into_bytes()
}
