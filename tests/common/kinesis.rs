//! Kinesis events as Lambda receives them from a stream that CloudWatch Logs writes
//! (a central account's destination, or a subscription filter on a Kinesis stream):
//! each record's data is base64(gzip(one subscription document)).
#![allow(dead_code)]

use std::io::Write as _;

use base64::Engine as _;

/// One record: the document of `events` (`{"id", "timestamp", "message"}` each) of one
/// stream of `owner`'s log group, at sequence `n` of the shard.
pub fn record(
    owner: &str,
    log_group: &str,
    log_stream: &str,
    events: &[serde_json::Value],
    n: u64,
) -> serde_json::Value {
    let doc = serde_json::json!({
        "messageType": "DATA_MESSAGE", "owner": owner,
        "logGroup": log_group, "logStream": log_stream,
        "subscriptionFilters": ["to-central"], "logEvents": events,
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(doc.to_string().as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    serde_json::json!({
        "eventSource": "aws:kinesis", "awsRegion": "us-east-1", "eventVersion": "1.0",
        "eventName": "aws:kinesis:record",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:999999999999:stream/apigw-doctor-central",
        "eventID": format!("shardId-000000000000:4959{n:08}"),
        "kinesis": {"data": data, "partitionKey": log_stream, "kinesisSchemaVersion": "1.0",
                    "sequenceNumber": format!("4959{n:08}"), "approximateArrivalTimestamp": 1_795_600_800.0},
    })
}

/// The Lambda event for a batch of records.
pub fn event(records: Vec<serde_json::Value>) -> Vec<u8> {
    serde_json::json!({ "Records": records })
        .to_string()
        .into_bytes()
}
