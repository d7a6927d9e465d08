//! Access logs: whatever format the team configured, read into an [`AccessRecord`].
//!
//! Teams write their own `$context` template. Without it we recognise the common
//! JSON key names; with it (`--access-log-format` / `ACCESS_LOG_FORMAT`) any JSON
//! key, or a CLF, CSV or XML layout, maps to its variable. `-` means "not set".
//! JSON that the template made invalid (unquoted `-`, `$context.error.messageString`
//! inside quotes) is read by a tolerant scanner instead of being dropped.

use crate::logs::envelope::Text;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

mod scan;
use scan::*;

/// The `$context` values that matter for diagnosing integrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    RequestId,
    ExtendedRequestId,
    ApiId,
    Stage,
    HttpMethod,
    ResourcePath,
    RouteKey,
    Path,
    Status,
    IntegrationLatency,
    ResponseLatency,
    IntegrationStatus,
    ErrorResponseType,
    ErrorMessage,
    IntegrationError,
    RequestTimeEpoch,
    /// `$context.requestTime`, CLF time `25/Nov/2026:10:00:00 +0000`.
    RequestTime,
    EventType,
    /// `$context.xrayTraceId`: joins the request to its backend run (`backend_run`).
    XrayTraceId,
    /// `$context.integration.responseTransferMode`: `BUFFERED` or `STREAMED` (REST).
    ResponseTransferMode,
}

impl Field {
    /// The field a `$context` variable (without `$context.`) carries, if we use it.
    pub fn from_variable(var: &str) -> Option<Field> {
        Some(match var {
            "requestId" => Field::RequestId,
            "extendedRequestId" => Field::ExtendedRequestId,
            "apiId" => Field::ApiId,
            "stage" => Field::Stage,
            "httpMethod" => Field::HttpMethod,
            "resourcePath" => Field::ResourcePath,
            "routeKey" => Field::RouteKey,
            "path" => Field::Path,
            "status" => Field::Status,
            "integrationLatency" | "integration.latency" => Field::IntegrationLatency,
            "responseLatency" => Field::ResponseLatency,
            "integrationStatus" | "integration.status" | "integration.integrationStatus" => {
                Field::IntegrationStatus
            }
            "error.responseType" => Field::ErrorResponseType,
            "error.message" | "error.messageString" => Field::ErrorMessage,
            "integrationErrorMessage" | "integration.error" => Field::IntegrationError,
            "requestTimeEpoch" => Field::RequestTimeEpoch,
            "requestTime" => Field::RequestTime,
            "eventType" => Field::EventType,
            "xrayTraceId" => Field::XrayTraceId,
            "integration.responseTransferMode" => Field::ResponseTransferMode,
            _ => return None,
        })
    }

    /// Common key names, compared after [`normalise_key`].
    fn from_common_key(key: &str) -> Option<Field> {
        Some(match key {
            "requestid" => Field::RequestId,
            "extendedrequestid" => Field::ExtendedRequestId,
            "apiid" => Field::ApiId,
            "stage" => Field::Stage,
            "httpmethod" | "method" => Field::HttpMethod,
            "resourcepath" | "resource" => Field::ResourcePath,
            "routekey" | "route" => Field::RouteKey,
            "path" => Field::Path,
            "status" | "statuscode" | "httpstatus" => Field::Status,
            "integrationlatency" | "integrationlatencyms" => Field::IntegrationLatency,
            "responselatency" | "responselatencyms" => Field::ResponseLatency,
            "integrationstatus" | "integrationintegrationstatus" => Field::IntegrationStatus,
            "errorresponsetype" | "responsetype" => Field::ErrorResponseType,
            "errormessage" | "errormessagestring" => Field::ErrorMessage,
            "integrationerrormessage" | "integrationerror" => Field::IntegrationError,
            "requesttimeepoch" => Field::RequestTimeEpoch,
            "requesttime" => Field::RequestTime,
            "eventtype" => Field::EventType,
            "xraytraceid" | "traceid" => Field::XrayTraceId,
            "responsetransfermode" | "integrationresponsetransfermode" | "transfermode" => {
                Field::ResponseTransferMode
            }
            _ => return None,
        })
    }
}

/// Lower case, without `_`, `-` and `.`, so that `integration_latency`,
/// `IntegrationLatency` and `integration.latency` meet.
pub fn normalise_key(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("the access-log format has no $context variable")]
    NoVariables,
    #[error("the access-log format must contain $context.requestId or $context.extendedRequestId")]
    NoRequestId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Var(Option<Field>),
}

/// A team's access-log format (`$context…` template), compiled.
#[derive(Debug, Clone)]
pub struct AccessFormat {
    /// JSON templates: normalised key → field.
    keys: HashMap<String, Field>,
    /// Any template: literals and variables in order (used for non-JSON layouts).
    tokens: Vec<Token>,
    json: bool,
}

impl AccessFormat {
    pub fn parse(template: &str) -> Result<AccessFormat, FormatError> {
        let template = template.trim();
        let mut tokens = Vec::new();
        let mut keys = HashMap::new();
        let mut rest = template;
        let mut literal = String::new();
        let mut seen_any = false;
        let mut seen_id = false;
        while let Some(i) = rest.find("$context.") {
            literal.push_str(&rest[..i]);
            let after = &rest[i + "$context.".len()..];
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
                .count();
            // A trailing dot is punctuation, not part of the name.
            let name = after[..len].trim_end_matches('.');
            let field = Field::from_variable(name);
            seen_any = true;
            seen_id |= matches!(field, Some(Field::RequestId | Field::ExtendedRequestId));
            if let (Some(f), Some(key)) = (field, json_key_before(&literal)) {
                keys.insert(normalise_key(key), f);
            }
            if !literal.is_empty() {
                tokens.push(Token::Literal(std::mem::take(&mut literal)));
            }
            tokens.push(Token::Var(field));
            rest = &after[name.len()..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        if !seen_any {
            return Err(FormatError::NoVariables);
        }
        if !seen_id {
            return Err(FormatError::NoRequestId);
        }
        Ok(AccessFormat {
            keys,
            tokens,
            json: template.starts_with('{'),
        })
    }

    fn lookup(&self, normalised: &str) -> Option<Field> {
        self.keys
            .get(normalised)
            .copied()
            .or_else(|| Field::from_common_key(normalised))
    }

    /// Reads a non-JSON line (CLF, CSV, XML, custom) by walking the template.
    fn match_tokens<'a>(&self, line: &'a str) -> Option<AccessRecord<'a>> {
        let mut rec = AccessRecord::default();
        let mut pos = 0usize;
        let mut i = 0;
        while i < self.tokens.len() {
            match &self.tokens[i] {
                Token::Literal(l) => {
                    if !line[pos..].starts_with(l.as_str()) {
                        return None;
                    }
                    pos += l.len();
                }
                Token::Var(field) => {
                    let end = match self.tokens.get(i + 1) {
                        Some(Token::Literal(next)) => pos + line[pos..].find(next.as_str())?,
                        // Two variables with nothing between: the first takes one word.
                        Some(Token::Var(_)) => {
                            pos + line[pos..].find(' ').unwrap_or(line.len() - pos)
                        }
                        None => line.len(),
                    };
                    if let Some(f) = field {
                        rec.set(*f, Scalar::Str(Cow::Borrowed(&line[pos..end])));
                    }
                    pos = end;
                }
            }
            i += 1;
        }
        rec.is_plausible().then_some(rec)
    }
}

/// The key of the JSON member a placeholder sits in: `"status": "` → `status`.
fn json_key_before(literal: &str) -> Option<&str> {
    let t = literal.trim_end();
    let t = t.strip_suffix('"').unwrap_or(t).trim_end();
    let t = t.strip_suffix(':')?.trim_end();
    let t = t.strip_suffix('"')?;
    let start = t.rfind('"')?;
    Some(&t[start + 1..])
}

/// One access-log record. Strings borrow from the message where possible.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessRecord<'a> {
    pub request_id: Option<Cow<'a, str>>,
    pub extended_request_id: Option<Cow<'a, str>>,
    pub api_id: Option<Cow<'a, str>>,
    pub stage: Option<Cow<'a, str>>,
    pub http_method: Option<Cow<'a, str>>,
    pub resource_path: Option<Cow<'a, str>>,
    pub route_key: Option<Cow<'a, str>>,
    pub path: Option<Cow<'a, str>>,
    pub status: Option<u16>,
    pub integration_latency_ms: Option<u64>,
    pub response_latency_ms: Option<u64>,
    pub integration_status: Option<u16>,
    pub error_response_type: Option<Cow<'a, str>>,
    pub error_message: Option<Cow<'a, str>>,
    pub integration_error: Option<Cow<'a, str>>,
    /// When the request arrived, epoch milliseconds (`requestTimeEpoch`, in
    /// milliseconds or, as HTTP APIs log it, seconds; or `requestTime`).
    pub request_time_epoch: Option<i64>,
    pub event_type: Option<Cow<'a, str>>,
    pub xray_trace_id: Option<Cow<'a, str>>,
    pub response_transfer_mode: Option<Cow<'a, str>>,
}

/// A JSON value as far as we care: text, a number, or nothing.
#[derive(Debug, Clone, PartialEq)]
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Null,
}

impl<'a> AccessRecord<'a> {
    fn set(&mut self, field: Field, value: Scalar<'a>) {
        match value {
            Scalar::Null => {}
            Scalar::Num(n) => self.set_number(field, n),
            Scalar::Str(Cow::Borrowed(text)) => self.set_borrowed(field, text),
            Scalar::Str(Cow::Owned(text)) => {
                if let Some(v) = self.set_text(field, &text) {
                    self.set_slot(field, Cow::Owned(v.to_owned()));
                }
            }
        }
    }

    fn set_borrowed(&mut self, field: Field, text: &'a str) {
        if let Some(v) = self.set_text(field, text) {
            self.set_slot(field, Cow::Borrowed(v));
        }
    }

    /// Sets a number or time field from its text; for a text field, the part of
    /// `text` to keep (trimmed, unquoted), for the caller to borrow or copy.
    fn set_text<'t>(&mut self, field: Field, text: &'t str) -> Option<&'t str> {
        // `trim` decodes a character at each end; values rarely need it.
        let bare = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x80);
        let b = text.as_bytes();
        let t = if bare(b.first()) && bare(b.last()) {
            text
        } else {
            text.trim()
        };
        // `-` is API Gateway's "not set"; `(none)` appears for unmatched base paths.
        if t.is_empty() || t == "-" || t == "(none)" {
            return None;
        }
        match field {
            Field::Status
            | Field::IntegrationLatency
            | Field::ResponseLatency
            | Field::IntegrationStatus
            | Field::RequestTimeEpoch => {
                // Most are plain integers (`504`, `29010`): read without the float parser.
                if t.len() <= 15 && t.bytes().all(|c| c.is_ascii_digit()) {
                    let n = t.bytes().fold(0, |n, c| n * 10 + u64::from(c - b'0'));
                    self.set_integer(field, n);
                } else if let Ok(n) = t.parse::<f64>() {
                    self.set_number(field, n);
                }
                None
            }
            Field::RequestTime => {
                if self.request_time_epoch.is_none() {
                    self.request_time_epoch = clf_time_ms(t);
                }
                None
            }
            _ => {
                // `$context.error.messageString` arrives wrapped in its own quotes.
                let quoted = t.starts_with('"') || t.ends_with('"');
                Some(if quoted { t.trim_matches('"') } else { t })
            }
        }
    }

    fn set_slot(&mut self, field: Field, v: Cow<'a, str>) {
        let slot = match field {
            Field::RequestId => &mut self.request_id,
            Field::ExtendedRequestId => &mut self.extended_request_id,
            Field::ApiId => &mut self.api_id,
            Field::Stage => &mut self.stage,
            Field::HttpMethod => &mut self.http_method,
            Field::ResourcePath => &mut self.resource_path,
            Field::RouteKey => &mut self.route_key,
            Field::Path => &mut self.path,
            Field::ErrorResponseType => &mut self.error_response_type,
            Field::ErrorMessage => &mut self.error_message,
            Field::IntegrationError => &mut self.integration_error,
            Field::EventType => &mut self.event_type,
            Field::XrayTraceId => &mut self.xray_trace_id,
            Field::ResponseTransferMode => &mut self.response_transfer_mode,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(v);
        }
    }

    /// [`Self::set_number`] for an integer below 10^15 (exact as an f64), without floats.
    fn set_integer(&mut self, field: Field, n: u64) {
        match field {
            Field::Status if n < 1000 => self.status = Some(n as u16),
            Field::IntegrationStatus if n < 1000 => self.integration_status = Some(n as u16),
            Field::IntegrationLatency => self.integration_latency_ms = Some(n),
            Field::ResponseLatency => self.response_latency_ms = Some(n),
            Field::RequestTimeEpoch if n < 100_000_000_000 => {
                self.request_time_epoch = Some(n as i64 * 1000)
            }
            Field::RequestTimeEpoch => self.request_time_epoch = Some(n as i64),
            _ => {}
        }
    }

    fn set_number(&mut self, field: Field, n: f64) {
        if !n.is_finite() || n < 0.0 {
            return;
        }
        let ms = n.round() as u64;
        match field {
            Field::Status if n < 1000.0 => self.status = Some(n as u16),
            Field::IntegrationStatus if n < 1000.0 => self.integration_status = Some(n as u16),
            Field::IntegrationLatency => self.integration_latency_ms = Some(ms),
            Field::ResponseLatency => self.response_latency_ms = Some(ms),
            // Seconds (HTTP APIs, observed) until the year 5138; milliseconds after 1973.
            Field::RequestTimeEpoch if n < 1e11 => self.request_time_epoch = Some(n as i64 * 1000),
            Field::RequestTimeEpoch => self.request_time_epoch = Some(n as i64),
            _ => {}
        }
    }

    /// Enough to be worth diagnosing: an outcome of some kind.
    fn is_plausible(&self) -> bool {
        self.status.is_some()
            || self.integration_latency_ms.is_some()
            || self.error_response_type.is_some()
    }

    /// The gateway streamed the response (`STREAMED` in the log; the setting's `STREAM`).
    pub fn is_streamed(&self) -> bool {
        self.response_transfer_mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("STREAMED") || m.eq_ignore_ascii_case("STREAM"))
    }

    pub fn id(&self) -> Option<&str> {
        self.request_id
            .as_deref()
            .or(self.extended_request_id.as_deref())
    }
}

/// `25/Nov/2026:10:00:00 +0000` (CLF, `$context.requestTime`) → epoch milliseconds.
/// By hand: the stock formats log it in every record, and chrono's parser costs
/// more than the rest of the record's reading.
fn clf_time_ms(t: &str) -> Option<i64> {
    // `trim_matches(['[', ']'])`, bytewise (a char pattern costs more than the rest).
    let mut b = t.as_bytes();
    while let [b'[' | b']', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b'[' | b']'] = b {
        b = rest;
    }
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let month = MONTHS.iter().position(|m| &b[3..6] == *m)? as i64 + 1;
    let (day, year) = (num(0..2)?, num(7..11)?);
    let (h, m, sec) = (num(12..14)?, num(15..17)?, num(18..20)?);
    let sign = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let offset = sign * (num(22..24)? * 3600 + num(24..26)? * 60);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + m * 60 + sec - offset) * 1000)
}

/// Parses one access-log message. `None` when it is not an access-log record.
/// (An [`AccessParser`] does the same faster over many records.)
pub fn parse_record<'a>(
    message: &'a str,
    format: Option<&AccessFormat>,
) -> Option<AccessRecord<'a>> {
    let memo = KeyMemo::default();
    parse_with(message, KeyLookup(format, &memo))
}

fn parse_with<'a>(message: &'a str, keys: KeyLookup<'_>) -> Option<AccessRecord<'a>> {
    let format = keys.0;
    let trimmed = message.trim();
    if trimmed.starts_with('{') && format.is_none_or(|f| f.json) {
        if let Some(rec) = scan_flat_json(trimmed, &keys, false) {
            return rec.is_plausible().then_some(rec);
        }
        let mut rec = AccessRecord::default();
        let mut de = serde_json::Deserializer::from_str(trimmed);
        let parsed = Collector {
            keys: &keys,
            parent: None,
            out: &mut rec,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        if parsed.is_err() {
            rec = scan_loose_json(trimmed, &keys);
        }
        return rec.is_plausible().then_some(rec);
    }
    format
        .filter(|f| !f.json)
        .and_then(|f| f.match_tokens(trimmed))
}

/// Key → field, remembering top-level keys by their place: records of one stream
/// repeat the same keys in the same order, so each is normalised once, and
/// recognised again by one comparison instead of a hash lookup.
struct KeyLookup<'f>(Option<&'f AccessFormat>, &'f KeyMemo);

type KeyMemo = std::cell::RefCell<Memo>;

#[derive(Debug, Default)]
struct Memo {
    /// Per place: the key and its field.
    keys: Vec<(Box<str>, Option<Field>)>,
    /// Per quoting (raw, escaped) and place, for the flat scanner: the bytes from the
    /// key's opening quote to its value (`\"status\": `) and the key's field. When a
    /// record starts a member with the same bytes, key, colon and spaces are known in
    /// one comparison.
    leads: [Vec<Lead>; 2],
}

type Lead = (Box<[u8]>, Option<Field>);

/// `a` starts with `prefix`, compared a word at a time rather than by a call to memcmp
/// (prefixes are a few words long, and there is one per member of every record).
#[inline]
fn starts_with(a: &[u8], prefix: &[u8]) -> bool {
    let n = prefix.len();
    let (Some(a), true) = (a.get(..n), n >= 8) else {
        return a.starts_with(prefix);
    };
    let word = |s: &[u8], at: usize| s.get(at..).and_then(<[u8]>::first_chunk::<8>).copied();
    // Whole words, then the last 8 bytes (overlapping the last whole word).
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(prefix, at) {
            return false;
        }
        at += 8;
    }
    word(a, n - 8) == word(prefix, n - 8)
}

/// Top-level keys remembered per record (formats have a few dozen at most).
const MEMO_PLACES: usize = 64;

/// Reads access-log records of one stream, remembering how its keys map to fields.
#[derive(Debug, Default)]
pub struct AccessParser {
    format: Option<AccessFormat>,
    memo: KeyMemo,
}

impl AccessParser {
    pub fn new(format: Option<AccessFormat>) -> Self {
        AccessParser {
            format,
            memo: KeyMemo::default(),
        }
    }

    /// Parses one message; `None` when it is not an access-log record.
    pub fn parse<'a>(&self, message: &'a str) -> Option<AccessRecord<'a>> {
        parse_with(message, KeyLookup(self.format.as_ref(), &self.memo))
    }

    /// Reads a flat JSON record straight from its still-escaped form in the
    /// subscription document (see `envelope::EventVisitor::escaped_event`). `None`
    /// when it cannot be read that way: the caller unescapes and calls [`Self::parse`].
    pub fn parse_escaped<'a>(&self, escaped: &'a str) -> Option<AccessRecord<'a>> {
        let t = escaped.trim();
        let mut rec = AccessRecord::default();
        let end = self.escaped_record(t, &mut rec)?;
        (end == t.len()).then_some(rec)
    }

    /// [`Self::parse_escaped`] on a message whose end is not known yet (see
    /// `envelope::EventVisitor::event_in_place`): `rest` starts just after the
    /// message's opening quote. Fills `rec` (left unspecified on `None`) and returns the
    /// message's length, if the message is one flat JSON record and nothing else.
    pub fn parse_escaped_at<'a>(&self, rest: &'a str, rec: &mut AccessRecord<'a>) -> Option<usize> {
        // The scanner takes no bare quote: the first one after the record closes the message.
        let end = self.escaped_record(rest, rec)?;
        (rest.as_bytes().get(end) == Some(&b'"')).then_some(end)
    }

    /// Reads a plausible flat JSON record, still escaped, at the start of `s` into
    /// `rec`, and returns where it ends (after the whitespace behind its closing brace).
    fn escaped_record<'a>(&self, s: &'a str, rec: &mut AccessRecord<'a>) -> Option<usize> {
        if !s.starts_with('{') || self.format.as_ref().is_some_and(|f| !f.json) {
            return None;
        }
        let keys = KeyLookup(self.format.as_ref(), &self.memo);
        let end = scan_flat_json_into(s, &keys, true, rec)?;
        rec.is_plausible().then_some(end)
    }
}

impl KeyLookup<'_> {
    /// The field of the top-level key at `place` in its record.
    fn top(&self, place: usize, key: &str) -> Option<Field> {
        self.top_in(&mut self.1.borrow_mut(), place, key)
    }

    /// [`Self::top`] with the memo already borrowed.
    fn top_in(&self, memo: &mut Memo, place: usize, key: &str) -> Option<Field> {
        let memo = &mut memo.keys;
        if let Some((k, f)) = memo.get(place) {
            if **k == *key {
                return *f;
            }
        }
        let f = self.resolve(None, key);
        if place < memo.len() {
            memo[place] = (key.into(), f);
        } else if place == memo.len() && place < MEMO_PLACES {
            memo.push((key.into(), f));
        }
        f
    }

    fn resolve(&self, parent: Option<&str>, key: &str) -> Option<Field> {
        let leaf = normalise_key(key);
        let find = |k: &str| match self.0 {
            Some(f) => f.lookup(k),
            None => Field::from_common_key(k),
        };
        match parent {
            Some(p) => find(&format!("{p}{leaf}")).or_else(|| find(&leaf)),
            None => find(&leaf),
        }
    }
}

/// Walks a JSON object, keeping only the fields we know (nested objects flatten).
struct Collector<'r, 'k, 'a> {
    keys: &'k KeyLookup<'k>,
    parent: Option<String>,
    out: &'r mut AccessRecord<'a>,
}

impl<'de, 'r, 'k> DeserializeSeed<'de> for Collector<'r, 'k, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'r, 'k> Visitor<'de> for Collector<'r, 'k, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let mut place = 0;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let field = match self.parent.as_deref() {
                None => self.keys.top(place, &key),
                parent => self.keys.resolve(parent, &key),
            };
            place += 1;
            match field {
                Some(field) => {
                    let v = map.next_value::<ScalarSeed>()?;
                    self.out.set(field, v.0);
                }
                None => map.next_value_seed(Nested {
                    keys: self.keys,
                    key: &key,
                    out: self.out,
                })?,
            }
        }
        Ok(())
    }
}

/// A member we do not know: descend into objects, skip anything else.
struct Nested<'r, 'k, 'a> {
    keys: &'k KeyLookup<'k>,
    /// Its key, normalised only if the value turns out to be an object.
    key: &'r str,
    out: &'r mut AccessRecord<'a>,
}

impl<'de, 'r, 'k> DeserializeSeed<'de> for Nested<'r, 'k, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'r, 'k> Visitor<'de> for Nested<'r, 'k, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<(), M::Error> {
        Collector {
            keys: self.keys,
            parent: Some(normalise_key(self.key)),
            out: self.out,
        }
        .visit_map(map)
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

struct ScalarSeed<'a>(Scalar<'a>);

impl<'de> serde::Deserialize<'de> for ScalarSeed<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ScalarSeed<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or number")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(ScalarSeed(Scalar::Str(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ScalarSeed(Scalar::Str(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(ScalarSeed(Scalar::Str(Cow::Owned(v))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ScalarSeed(Scalar::Num(v as f64)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ScalarSeed(Scalar::Num(v as f64)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(ScalarSeed(Scalar::Num(v)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ScalarSeed(Scalar::Null))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(ScalarSeed(Scalar::Null))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(ScalarSeed(Scalar::Null))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<Self::Value, S::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ScalarSeed(Scalar::Null))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(ScalarSeed(Scalar::Null))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests;
