//! CloudTrail records → [`Change`]s. Reads the three shapes the doctor meets: a trail's
//! log file as delivered to S3 (`{"Records":[…]}`, gzip or not), `aws cloudtrail
//! lookup-events` output (`{"Events":[{"CloudTrailEvent":"<record as a JSON string>"}]}`)
//! and an EventBridge "AWS API Call via CloudTrail" event (`detail` is the record); a
//! bare record or an array of any of these too. Facts and sources:
//! `docs/reference/cloudtrail-changes.md`.
//!
//! The input is untrusted: nothing panics, a part that cannot be read is counted and
//! named, and only whitelisted settings are kept (never environment variables, keys
//! or request bodies).

use serde_json::Value;

use crate::logs::envelope::{self, Origin};
use crate::model::change::{Change, ChangeAction, ChangeDetail, ChangeTarget};

/// The most changes kept from one input; the rest are counted.
pub const MAX_CHANGES: usize = 50_000;
/// Inflated size cap of one gzip input.
const MAX_INFLATED: usize = 512 * 1024 * 1024;
/// A kept value is cut to this many characters (a URI, a VPC configuration).
const MAX_VALUE_CHARS: usize = 300;
/// How deep the request is searched for settings (real records may nest the body).
const MAX_DEPTH: usize = 4;

/// Why a record gave no change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not one of the change events (a `Get*`, another service…).
    NotAChange,
    /// The call failed (`errorCode`): it changed nothing.
    Failed,
    /// A change without the resource it changed.
    NoTarget,
    /// A record without `eventID` or a readable `eventTime`.
    Incomplete,
}

/// What could not be read, as data (the CLI prints it as a warning).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeInputProblem {
    #[error("{name}: not JSON ({message})")]
    NotJson { name: String, message: String },
    #[error("{name}: cannot inflate ({message})")]
    Gzip { name: String, message: String },
    #[error("{name}: neither CloudTrail records (Records), lookup-events output (Events) nor an EventBridge CloudTrail event")]
    UnknownShape { name: String },
    #[error("{name}: {count} CloudTrailEvent strings are not JSON records (the first at Events[{first}])")]
    EmbeddedNotJson {
        name: String,
        count: usize,
        first: usize,
    },
    #[error("{name}: {total} changes, only the first {kept} kept")]
    TooMany {
        name: String,
        kept: usize,
        total: usize,
    },
}

/// What one input gave.
#[derive(Debug, Clone, Default)]
pub struct ChangesRead {
    pub changes: Vec<Change>,
    /// Records read, changes or not.
    pub records: usize,
    /// Records that were not changes the doctor relates (read-only, failed, other services).
    pub ignored: usize,
    pub problems: Vec<ChangeInputProblem>,
}

impl ChangesRead {
    fn push(&mut self, record: &Value, dropped: &mut usize) {
        self.records += 1;
        match change_of_record(record) {
            Ok(c) if self.changes.len() < MAX_CHANGES => self.changes.push(c),
            Ok(_) => *dropped += 1,
            Err(_) => self.ignored += 1,
        }
    }
}

/// What [`visit`] counts as it goes.
#[derive(Default)]
struct Tally {
    /// Changes over [`MAX_CHANGES`].
    dropped: usize,
    /// `CloudTrailEvent`s that are not JSON records, and the index of the first.
    bad_embedded: usize,
    first_bad: usize,
}

/// Reads every change in one input (a file's bytes); `name` names it in problems.
pub fn read_changes(bytes: &[u8], name: &str) -> ChangesRead {
    let mut out = ChangesRead::default();
    let inflated;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        match envelope::inflate(bytes, MAX_INFLATED, Origin::at(name)) {
            Ok(i) => {
                inflated = i.bytes;
                &inflated[..]
            }
            Err(e) => {
                out.problems.push(ChangeInputProblem::Gzip {
                    name: name.to_owned(),
                    message: e.to_string(),
                });
                return out;
            }
        }
    } else {
        bytes
    };
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            // JSON lines: one record or event per line.
            let lines: Vec<Value> = bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.trim_ascii().is_empty())
                .map_while(|l| serde_json::from_slice(l).ok())
                .collect();
            let all_lines = bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.trim_ascii().is_empty())
                .count();
            if lines.len() < 2 || lines.len() != all_lines {
                out.problems.push(ChangeInputProblem::NotJson {
                    name: name.to_owned(),
                    message: e.to_string(),
                });
                return out;
            }
            Value::Array(lines)
        }
    };
    let mut tally = Tally::default();
    visit(&value, &mut out, &mut tally, 0);
    if tally.bad_embedded > 0 {
        out.problems.push(ChangeInputProblem::EmbeddedNotJson {
            name: name.to_owned(),
            count: tally.bad_embedded,
            first: tally.first_bad,
        });
    }
    if tally.dropped > 0 {
        out.problems.push(ChangeInputProblem::TooMany {
            name: name.to_owned(),
            kept: out.changes.len(),
            total: out.changes.len() + tally.dropped,
        });
    }
    if out.records == 0 && tally.bad_embedded == 0 && !is_empty_container(&value) {
        out.problems.push(ChangeInputProblem::UnknownShape {
            name: name.to_owned(),
        });
    }
    out
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => ["Records", "Events"].iter().any(|k| {
            o.get(*k)
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
        }),
        _ => false,
    }
}

fn visit(v: &Value, out: &mut ChangesRead, tally: &mut Tally, depth: u8) {
    if depth > 2 {
        return;
    }
    match v {
        Value::Array(items) => {
            for item in items {
                visit(item, out, tally, depth + 1);
            }
        }
        Value::Object(o) => {
            if let Some(records) = o.get("Records").and_then(Value::as_array) {
                for r in records {
                    out.push(r, &mut tally.dropped);
                }
            } else if let Some(events) = o.get("Events").and_then(Value::as_array) {
                for (i, e) in events.iter().enumerate() {
                    let record = match e.get("CloudTrailEvent") {
                        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
                        Some(r @ Value::Object(_)) => Some(r.clone()),
                        _ => None,
                    };
                    match record.filter(Value::is_object) {
                        Some(r) => out.push(&r, &mut tally.dropped),
                        None => {
                            if tally.bad_embedded == 0 {
                                tally.first_bad = i;
                            }
                            tally.bad_embedded += 1;
                        }
                    }
                }
            } else if let Some(detail) = eventbridge_record(v) {
                out.push(detail, &mut tally.dropped);
            } else if o.contains_key("eventName") && o.contains_key("eventSource") {
                out.push(v, &mut tally.dropped);
            }
        }
        _ => {}
    }
}

/// An EventBridge event's CloudTrail record, when it is one ("AWS API Call via CloudTrail").
pub fn eventbridge_record(event: &Value) -> Option<&Value> {
    (event.get("detail-type")?.as_str()? == "AWS API Call via CloudTrail")
        .then(|| event.get("detail"))
        .flatten()
        .filter(|d| d.is_object())
}

/// The change one CloudTrail record describes.
pub fn change_of_record(r: &Value) -> Result<Change, Ignored> {
    let name = str_at(r, "eventName").ok_or(Ignored::NotAChange)?;
    let action = ChangeAction::of_event_name(name).ok_or(Ignored::NotAChange)?;
    if r.get("errorCode").is_some_and(|e| !e.is_null()) {
        return Err(Ignored::Failed);
    }
    let event_id = str_at(r, "eventID").ok_or(Ignored::Incomplete)?;
    let event_time = r
        .get("eventTime")
        .and_then(time_ms)
        .ok_or(Ignored::Incomplete)?;
    let empty = Value::Null;
    let req = r.get("requestParameters").unwrap_or(&empty);
    let resp = r.get("responseElements").unwrap_or(&empty);
    let target = target(action, req, resp).ok_or(Ignored::NoTarget)?;
    let identity = r.get("userIdentity").unwrap_or(&empty);
    let actor = str_at(identity, "arn")
        .or_else(|| {
            identity
                .pointer("/sessionContext/sessionIssuer/arn")
                .and_then(Value::as_str)
        })
        .or_else(|| str_at(identity, "type"))
        .map(clip);
    let invoked_by = str_at(identity, "invokedBy").map(clip);
    Ok(Change {
        event_id: clip(event_id),
        event_name: clip(name),
        action,
        event_time,
        event_source: str_at(r, "eventSource").map(clip).unwrap_or_default(),
        account: str_at(r, "recipientAccountId")
            .or_else(|| str_at(identity, "accountId"))
            .map(clip),
        region: str_at(r, "awsRegion").map(clip),
        target,
        actor,
        invoked_by,
        details: details(action, req, resp),
    })
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str().filter(|s| !s.is_empty())
}

fn clip(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).collect();
    match clean.char_indices().nth(MAX_VALUE_CHARS) {
        Some((i, _)) => format!("{}…", &clean[..i]),
        None => clean,
    }
}

/// `eventTime`: ISO 8601 (a record; CLI output with an offset) or epoch seconds (the raw API).
fn time_ms(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis()),
        Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e11)
            .map(|s| (s * 1000.0) as i64),
        _ => None,
    }
}

/// The first value under `key` at any depth up to MAX_DEPTH (bodies may be nested).
fn find<'a>(v: &'a Value, key: &str, depth: usize) -> Option<&'a Value> {
    let o = v.as_object()?;
    if let Some(x) = o.get(key).filter(|x| !x.is_null()) {
        return Some(x);
    }
    if depth == 0 {
        return None;
    }
    o.values().find_map(|c| find(c, key, depth - 1))
}

fn find_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    find(v, key, MAX_DEPTH)?.as_str().filter(|s| !s.is_empty())
}

fn target(action: ChangeAction, req: &Value, resp: &Value) -> Option<ChangeTarget> {
    if action.is_function() {
        let (name, qualifier) = function_name(find_str(req, "functionName")?)?;
        let qualifier = qualifier
            .or_else(|| find_str(req, "qualifier").map(clip))
            .or_else(|| {
                (action == ChangeAction::FunctionAlias)
                    .then(|| find_str(req, "name").map(clip))
                    .flatten()
            });
        return Some(ChangeTarget::Function { name, qualifier });
    }
    let api_id = find_str(req, "restApiId")
        .or_else(|| find_str(req, "apiId"))
        .or_else(|| find_str(resp, "apiId"))
        .or_else(|| {
            // PutRestApi/ImportRestApi answer with the API (`id`).
            (action == ChangeAction::Api)
                .then(|| find_str(resp, "id"))
                .flatten()
        })?;
    Some(ChangeTarget::Api {
        api_id: clip(api_id),
        stage: find_str(req, "stageName").map(clip),
        resource_id: find_str(req, "resourceId").map(clip),
        http_method: find_str(req, "httpMethod").map(clip),
        integration_id: find_str(req, "integrationId").map(clip),
        route_id: find_str(req, "routeId").map(clip),
    })
}

/// A function's name from a name, `name:qualifier`, a full or partial ARN.
fn function_name(s: &str) -> Option<(String, Option<String>)> {
    let rest = match s.find("function:") {
        Some(i) => &s[i + "function:".len()..],
        None => s,
    };
    let mut parts = rest.splitn(2, ':');
    let name = parts.next().filter(|n| !n.is_empty())?;
    Some((clip(name), parts.next().filter(|q| !q.is_empty()).map(clip)))
}

/// The settings a change moved, whitelisted: what bears on timeouts and errors.
fn details(action: ChangeAction, req: &Value, resp: &Value) -> Vec<ChangeDetail> {
    let mut out = Vec::new();
    let mut set = |field: &str, v: Option<&Value>| {
        if let Some(v) = v.and_then(value_text) {
            if !out.iter().any(|d: &ChangeDetail| d.field == field) {
                out.push(ChangeDetail {
                    field: field.to_owned(),
                    before: None,
                    after: Some(v),
                });
            }
        }
    };
    let fields: &[&str] = match action {
        ChangeAction::Integration => &[
            "timeoutInMillis",
            "uri",
            "integrationUri",
            "type",
            "integrationType",
            "connectionType",
        ],
        ChangeAction::Deployment | ChangeAction::Stage => &["deploymentId"],
        ChangeAction::Route => &["authorizationType", "authorizerId", "target"],
        ChangeAction::FunctionConfiguration => &[
            "timeout",
            "memorySize",
            "vpcConfig",
            "runtime",
            "handler",
            "ephemeralStorage",
        ],
        ChangeAction::FunctionCode => &["codeSha256"],
        ChangeAction::FunctionVersion => &["version"],
        ChangeAction::FunctionAlias => &["functionVersion", "routingConfig"],
        ChangeAction::ReservedConcurrency => &["reservedConcurrentExecutions"],
        ChangeAction::ProvisionedConcurrency => &["provisionedConcurrentExecutions"],
        ChangeAction::Api => &["mode"],
    };
    for f in fields {
        // The request says what was asked; the answer fills in what it decided.
        set(
            f,
            find(req, f, MAX_DEPTH).or_else(|| find(resp, f, MAX_DEPTH)),
        );
    }
    if action == ChangeAction::Deployment {
        set("deploymentId", resp.get("id"));
    }
    // A delete removes the setting (no value after).
    let deleted = matches!(
        action,
        ChangeAction::ReservedConcurrency | ChangeAction::ProvisionedConcurrency
    ) && out.is_empty();
    if deleted {
        out.push(ChangeDetail {
            field: fields[0].to_owned(),
            before: None,
            after: None,
        });
    }
    // REST updates say what they change as PATCH operations.
    if let Some(ops) = find(req, "patchOperations", MAX_DEPTH).and_then(Value::as_array) {
        for op in ops.iter().take(50) {
            let Some(path) = op.get("path").and_then(Value::as_str) else {
                continue;
            };
            let field = path.trim_start_matches('/');
            let field = if field.contains('/') { path } else { field };
            // Stage variables may hold secrets: their names are kept, never their values.
            let secret = field.starts_with("/variables/") || field.contains("variables/");
            let after = match op.get("op").and_then(Value::as_str) {
                Some("remove") => None,
                _ if secret => Some("(set)".to_owned()),
                _ => op.get("value").and_then(value_text),
            };
            out.retain(|d| d.field != field);
            out.push(ChangeDetail {
                field: clip(field),
                before: None,
                after,
            });
        }
    }
    out
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(clip(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(clip(&other.to_string())),
    }
}
