//! Turns the bytes that reach us into CloudWatch Logs subscription documents.
//!
//! Three wrappers carry the same document: the Lambda subscription event
//! (`{"awslogs":{"data":"<base64 of gzip>"}}`), a Kinesis event whose records carry
//! the gzip bytes, and the already decoded document (the CLI's input). We decode
//! them ourselves rather than through `aws_lambda_events::LogsEvent`, which has no
//! size cap, rejects unpadded base64 and drops every gzip member after the first.

use std::borrow::Cow;
use std::io::Read;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::Deserialize;

mod libdeflate;
mod scan;

/// Default cap on the decompressed size of one event: far above the 1 MB async
/// invocation limit times a realistic compression ratio, far below Lambda memory.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Standard alphabet, padding optional: CloudWatch pads, some producers do not.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Where a payload came from, so that an error names the batch that failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// e.g. `awslogs.data` or `Records[3] (shardId-000…:4960…)`.
    pub location: String,
    pub log_group: Option<String>,
    pub log_stream: Option<String>,
    pub first_event_id: Option<String>,
}

impl Origin {
    pub fn at(location: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            ..Self::default()
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.location)?;
        if let Some(g) = &self.log_group {
            write!(f, ", log group {g}")?;
        }
        if let Some(s) = &self.log_stream {
            write!(f, ", log stream {s}")?;
        }
        if let Some(id) = &self.first_event_id {
            write!(f, ", first event id {id}")?;
        }
        Ok(())
    }
}

/// Why a batch could not be decoded. None of these gets better on a retry: the
/// same bytes fail the same way, so the batch belongs in the failure destination.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("{origin}: invalid base64 ({source})")]
    Base64 {
        origin: Origin,
        source: base64::DecodeError,
    },
    #[error("{origin}: not gzip data (the first bytes are {first:02x?}, gzip starts 1f 8b)")]
    NotGzip { origin: Origin, first: Vec<u8> },
    #[error("{origin}: corrupt or truncated gzip ({source})")]
    Gzip {
        origin: Origin,
        source: std::io::Error,
    },
    #[error("{origin}: decompressed data exceeds the cap of {limit} bytes (raise MAX_DECOMPRESSED_BYTES if this is genuine)")]
    TooLarge { origin: Origin, limit: usize },
    #[error("{origin}: not a CloudWatch Logs subscription document ({detail})")]
    Shape { origin: Origin, detail: String },
    #[error("{origin}: unrecognised event: expected {{\"awslogs\":{{\"data\":…}}}} or a Kinesis event with Records[].kinesis.data ({detail})")]
    UnknownEvent { origin: Origin, detail: String },
}

impl EnvelopeError {
    pub fn origin(&self) -> &Origin {
        match self {
            Self::Base64 { origin, .. }
            | Self::NotGzip { origin, .. }
            | Self::Gzip { origin, .. }
            | Self::TooLarge { origin, .. }
            | Self::Shape { origin, .. }
            | Self::UnknownEvent { origin, .. } => origin,
        }
    }
}

/// One decompressed payload, ready to be parsed into documents.
#[derive(Debug)]
pub struct Inflated {
    pub bytes: Vec<u8>,
    pub origin: Origin,
    /// Bytes after the last complete gzip member that were not gzip (ignored, reported).
    pub trailing_garbage: usize,
}

/// What a CloudWatch Logs subscription document says of itself, besides its events.
/// Borrowed from the inflated buffer. Unknown fields (`policyLevel`) are ignored.
#[derive(Debug, Clone, Default)]
pub struct Header<'a> {
    pub message_type: Cow<'a, str>,
    pub owner: Cow<'a, str>,
    pub log_group: Cow<'a, str>,
    pub log_stream: Cow<'a, str>,
}

impl Header<'_> {
    pub fn is_control(&self) -> bool {
        self.message_type == "CONTROL_MESSAGE"
    }
}

/// Where a batch came from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub log_group: &'a str,
    pub log_stream: &'a str,
}

impl<'a> From<&'a Header<'_>> for Source<'a> {
    fn from(header: &'a Header<'_>) -> Self {
        Source {
            log_group: &header.log_group,
            log_stream: &header.log_stream,
        }
    }
}

/// A whole document, events included (tests and small inputs; the engine streams
/// events through [`visit_documents`] instead of holding them).
#[derive(Debug)]
pub struct Document<'a> {
    pub header: Header<'a>,
    pub log_events: Vec<LogEvent<'a>>,
}

impl<'a> std::ops::Deref for Document<'a> {
    type Target = Header<'a>;
    fn deref(&self) -> &Header<'a> {
        &self.header
    }
}

/// Receives the documents of a payload one event at a time. Messages borrow from
/// the inflated buffer whenever they contain no JSON escapes; an owned message
/// lives only as long as its call, so a batch is never held twice in memory.
pub trait EventVisitor<'a> {
    /// A document starts; its events follow.
    fn document(&mut self, header: &Header<'a>);
    fn event(&mut self, header: &Header<'a>, event: LogEvent<'a>);
    /// An event whose message has JSON escapes, given as it stands between its quotes
    /// (`escaped`). Unescaped here by default; a visitor that can read some messages
    /// in that form (JSON access-log records) saves the copy.
    fn escaped_event(
        &mut self,
        header: &Header<'a>,
        id: Cow<'a, str>,
        timestamp: i64,
        escaped: &'a str,
    ) {
        self.event(
            header,
            LogEvent {
                id,
                timestamp,
                message: unescape(escaped),
            },
        );
    }
    /// An event whose id and timestamp came before its message, offered before the
    /// message's end is known: `rest` runs from just after the message's opening quote
    /// to the end of the payload. A visitor that reads the message there returns its
    /// length (`rest[len]` is its closing quote) and gets no other call for the event;
    /// `None` (the default) and the event comes through `event` or `escaped_event`.
    /// Saves a pass over messages the visitor reads whole anyway (JSON access-log records).
    fn event_in_place(
        &mut self,
        _header: &Header<'a>,
        _id: &str,
        _timestamp: i64,
        _rest: &'a str,
    ) -> Option<usize> {
        None
    }
}

/// The text of a JSON string's inside (`escaped`, as between its quotes). A string
/// serde_json would refuse (a lone surrogate `\ud800`, an unknown escape, a raw
/// control character) is kept as it stands. Written here rather than by quoting
/// the text for serde_json: it runs on every execution-log line that carries a body.
pub fn unescape(escaped: &str) -> Cow<'_, str> {
    let Some(first) = memchr::memchr(b'\\', escaped.as_bytes()) else {
        return Cow::Borrowed(escaped);
    };
    match unescape_from(escaped, first) {
        Some(text) => Cow::Owned(text),
        None => Cow::Borrowed(escaped),
    }
}

fn unescape_from(escaped: &str, first: usize) -> Option<String> {
    // What serde_json refuses between escapes: a bare quote or a control character.
    let plain = |s: &str| {
        !s.bytes()
            .fold(false, |bad, b| bad | (b < 0x20) | (b == b'"'))
    };
    let b = escaped.as_bytes();
    let mut out = String::with_capacity(escaped.len());
    let mut i = 0;
    let mut next = Some(first);
    while let Some(at) = next {
        let segment = &escaped[i..at];
        if !plain(segment) {
            return None;
        }
        out.push_str(segment);
        let (c, len) = match *b.get(at + 1)? {
            b'"' => ('"', 2),
            b'\\' => ('\\', 2),
            b'/' => ('/', 2),
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => {
                let unit = hex4(b, at + 2)?;
                match unit {
                    0xD800..=0xDBFF => {
                        // A leading surrogate must be followed by its trailing half.
                        if b.get(at + 6..at + 8)? != b"\\u" {
                            return None;
                        }
                        let low = hex4(b, at + 8)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        (char::from_u32(code)?, 12)
                    }
                    _ => (char::from_u32(unit)?, 6),
                }
            }
            _ => return None,
        };
        out.push(c);
        i = at + len;
        next = memchr::memchr(b'\\', &b[i..]).map(|j| i + j);
    }
    let rest = &escaped[i..];
    plain(rest).then(|| out + rest)
}

/// Index of the first `"` or `\` at or after `from`: where a plain run inside a
/// JSON string stops. Eight bytes at a time: inside JSON access-log records the
/// runs between escapes are a few bytes long, too short for memchr2's vector set-up
/// to pay for itself.
pub(crate) fn quote_or_backslash(b: &[u8], from: usize) -> Option<usize> {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // The high bit of each byte that is zero, exactly (no carries between bytes).
    let zero = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let mut i = from;
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*chunk);
        let m = zero(w ^ 0x2222_2222_2222_2222) | zero(w ^ 0x5c5c_5c5c_5c5c_5c5c);
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = b.get(i..)?;
    tail.iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|j| i + j)
}

/// Four hex digits at `at`, as a UTF-16 code unit.
fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = std::str::from_utf8(b.get(at..at + 4)?).ok()?;
    if !digits.bytes().all(|d| d.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// An event as it arrives: the message's JSON text is taken as is, unescaped only on demand.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(default, borrow)]
    id: Cow<'a, str>,
    #[serde(default)]
    timestamp: i64,
    #[serde(borrow)]
    message: &'a serde_json::value::RawValue,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogEvent<'a> {
    #[serde(default, borrow)]
    pub id: Cow<'a, str>,
    #[serde(default)]
    pub timestamp: i64,
    #[serde(borrow)]
    pub message: Cow<'a, str>,
}

/// Decodes base64 with or without padding; whitespace is ignored.
pub fn decode_base64(text: &[u8], origin: &Origin) -> Result<Vec<u8>, EnvelopeError> {
    let text = text.trim_ascii();
    // base64-simd decodes (WHATWG's forgiving base64: optional padding, whitespace
    // ignored); the base64 crate reads a text it refuses, to say where and why.
    if let Ok(bytes) = base64_simd::forgiving_decode_to_vec(text) {
        return Ok(bytes);
    }
    BASE64.decode(text).map_err(|source| EnvelopeError::Base64 {
        origin: origin.clone(),
        source,
    })
}

/// Inflates one or several concatenated gzip members, up to `limit` bytes in all.
///
/// Each member goes to libdeflate first, into a buffer sized from the ISIZE trailer
/// (the size of the last member: exact for the single member CloudWatch Logs sends);
/// a member that does not fit, or that libdeflate refuses, is streamed by flate2,
/// which enforces the cap as it goes and names what is wrong.
pub fn inflate(gz: &[u8], limit: usize, origin: Origin) -> Result<Inflated, EnvelopeError> {
    if !gz.starts_with(&GZIP_MAGIC) {
        return Err(EnvelopeError::NotGzip {
            first: gz.iter().take(4).copied().collect(),
            origin,
        });
    }
    let hint = gz
        .len()
        .checked_sub(4)
        .map(|i| u32::from_le_bytes([gz[i], gz[i + 1], gz[i + 2], gz[i + 3]]) as usize)
        .unwrap_or(0);
    let mut fast = libdeflate::Decompressor::new();
    let mut out = Vec::new();
    let mut rest = gz;
    let mut trailing_garbage = 0;
    while !rest.is_empty() {
        if !rest.starts_with(&GZIP_MAGIC) {
            // Padding or garbage after the last member: nothing to decode in it.
            trailing_garbage = rest.len();
            break;
        }
        if let Some(d) = fast.as_mut().filter(|_| hint <= limit - out.len()) {
            if let libdeflate::Member::Inflated { consumed } = d.member(rest, &mut out, hint) {
                rest = &rest[consumed..];
                continue;
            }
        }
        let budget = (limit - out.len()) as u64 + 1;
        let mut member = flate2::bufread::GzDecoder::new(&mut rest).take(budget);
        if let Err(source) = member.read_to_end(&mut out) {
            return Err(EnvelopeError::Gzip { origin, source });
        }
        if out.len() > limit {
            return Err(EnvelopeError::TooLarge { origin, limit });
        }
    }
    Ok(Inflated {
        bytes: out,
        origin,
        trailing_garbage,
    })
}

/// Parses the documents of an inflated payload (several when members were concatenated).
pub fn documents(inflated: &Inflated) -> Result<Vec<Document<'_>>, EnvelopeError> {
    parse_documents(&inflated.bytes, &inflated.origin)
}

pub fn parse_documents<'a>(
    bytes: &'a [u8],
    origin: &Origin,
) -> Result<Vec<Document<'a>>, EnvelopeError> {
    struct Collect<'a>(Vec<Document<'a>>);
    impl<'a> EventVisitor<'a> for Collect<'a> {
        fn document(&mut self, header: &Header<'a>) {
            self.0.push(Document {
                header: header.clone(),
                log_events: Vec::new(),
            });
        }
        fn event(&mut self, _: &Header<'a>, event: LogEvent<'a>) {
            if let Some(d) = self.0.last_mut() {
                d.log_events.push(event);
            }
        }
    }
    let mut all = Collect(Vec::new());
    visit_documents(bytes, origin, &mut all)?;
    Ok(all.0)
}

/// Streams the documents of a payload (several when gzip members were concatenated)
/// into `visitor`. Returns how many documents there were. On an error, the visitor
/// may have seen part of the payload: the caller discards what it built.
///
/// The hand-written reader in [`scan`] does the work; serde_json reads what it hands
/// over (a document whose events come before its header, a payload that is not
/// UTF-8) and says what is wrong with an invalid one.
pub fn visit_documents<'a>(
    bytes: &'a [u8],
    origin: &Origin,
    visitor: &mut impl EventVisitor<'a>,
) -> Result<usize, EnvelopeError> {
    let (at, before) = match std::str::from_utf8(bytes).map(|text| scan::visit(text, visitor)) {
        Ok(Ok(count)) => (bytes.len(), count),
        Ok(Err(scan::Stop::HandOver { at, documents })) => (at, documents),
        Ok(Err(scan::Stop::Invalid)) => {
            // Same error, same words, whichever reader found it.
            let detail = match serde_documents(bytes, &mut Ignore) {
                Err(e) => return Err(shape_error(bytes, origin, e)),
                Ok(_) => "malformed JSON".to_owned(),
            };
            return Err(EnvelopeError::Shape {
                origin: origin.clone(),
                detail,
            });
        }
        Err(_) => (0, 0),
    };
    let count = before
        + serde_documents(&bytes[at..], visitor).map_err(|e| shape_error(bytes, origin, e))?;
    if count == 0 {
        return Err(EnvelopeError::Shape {
            origin: origin.clone(),
            detail: "empty payload".into(),
        });
    }
    Ok(count)
}

/// serde_json's reading of the documents of a payload: what [`scan`] hands over,
/// and the reference it is tested against.
fn serde_documents<'a>(
    bytes: &'a [u8],
    visitor: &mut impl EventVisitor<'a>,
) -> Result<usize, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut count = 0;
    // `end` only looks past whitespace: anything else is the next document.
    while de.end().is_err() {
        serde::de::DeserializeSeed::deserialize(DocumentSeed(visitor), &mut de)?;
        count += 1;
    }
    Ok(count)
}

/// Only serde_json's reading, for tests that compare it with [`visit_documents`].
#[doc(hidden)]
pub fn visit_documents_with_serde<'a>(
    bytes: &'a [u8],
    visitor: &mut impl EventVisitor<'a>,
) -> Result<usize, String> {
    serde_documents(bytes, visitor).map_err(|e| e.to_string())
}

/// A visitor that keeps nothing: reading a payload only for its error.
struct Ignore;

impl<'a> EventVisitor<'a> for Ignore {
    fn document(&mut self, _: &Header<'a>) {}
    fn event(&mut self, _: &Header<'a>, _: LogEvent<'a>) {}
    fn escaped_event(&mut self, _: &Header<'a>, _: Cow<'a, str>, _: i64, _: &'a str) {}
}

/// Hands one event to `visitor`: a message with escapes as it stands, for the
/// visitor to read or unescape.
fn deliver<'a>(
    visitor: &mut impl EventVisitor<'a>,
    header: &Header<'a>,
    id: Cow<'a, str>,
    timestamp: i64,
    inside: &'a str,
    escaped: bool,
) {
    if escaped {
        visitor.escaped_event(header, id, timestamp, inside);
    } else {
        let message = Cow::Borrowed(inside);
        visitor.event(
            header,
            LogEvent {
                id,
                timestamp,
                message,
            },
        );
    }
}

/// A JSON string (value or key), borrowed from the input when it has no escapes
/// (a plain `Cow` would always copy).
#[derive(Deserialize)]
pub(crate) struct Text<'a>(#[serde(borrow)] pub(crate) Cow<'a, str>);

struct DocumentSeed<'v, V>(&'v mut V);

impl<'de, V: EventVisitor<'de>> serde::de::DeserializeSeed<'de> for DocumentSeed<'_, V> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, V: EventVisitor<'de>> serde::de::Visitor<'de> for DocumentSeed<'_, V> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a CloudWatch Logs subscription document")
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        use serde::de::{Error, IgnoredAny};
        let mut header = Header::default();
        let mut message_type = false;
        // Events that came before the header was known (not AWS's order, but valid JSON).
        let mut early: Option<Vec<LogEvent<'de>>> = None;
        let mut started = false;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let slot = match &*key {
                "messageType" => {
                    message_type = true;
                    &mut header.message_type
                }
                "owner" => &mut header.owner,
                "logGroup" => &mut header.log_group,
                "logStream" => &mut header.log_stream,
                "logEvents" => {
                    // AWS writes the header first; stream only once all of it is known.
                    let known = !header.log_group.is_empty() && !header.log_stream.is_empty();
                    if message_type && known && !started {
                        self.0.document(&header);
                        started = true;
                        map.next_value_seed(EventsSeed {
                            header: &header,
                            to: To::Visitor(self.0),
                        })?;
                    } else {
                        let mut events = Vec::new();
                        map.next_value_seed(EventsSeed {
                            header: &header,
                            to: To::<V>::Buffer(&mut events),
                        })?;
                        early.get_or_insert_with(Vec::new).extend(events);
                    }
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value::<Text<'de>>()?.0;
        }
        if !message_type {
            return Err(M::Error::missing_field("messageType"));
        }
        if !started {
            self.0.document(&header);
        }
        for e in early.into_iter().flatten() {
            self.0.event(&header, e);
        }
        Ok(())
    }
}

enum To<'v, 'de, V> {
    Visitor(&'v mut V),
    Buffer(&'v mut Vec<LogEvent<'de>>),
}

struct EventsSeed<'v, 'h, 'de, V> {
    header: &'h Header<'de>,
    to: To<'v, 'de, V>,
}

impl<'de, V: EventVisitor<'de>> serde::de::DeserializeSeed<'de> for EventsSeed<'_, '_, 'de, V> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, V: EventVisitor<'de>> serde::de::Visitor<'de> for EventsSeed<'_, '_, 'de, V> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of log events")
    }

    fn visit_seq<S: serde::de::SeqAccess<'de>>(mut self, mut seq: S) -> Result<(), S::Error> {
        while let Some(e) = seq.next_element::<RawEvent<'de>>()? {
            let raw = e.message.get();
            let Some(inside) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
                return Err(serde::de::Error::custom(format!(
                    "invalid type: message {raw:.40} is not a string"
                )));
            };
            match &mut self.to {
                To::Visitor(v) => {
                    let escaped = inside.contains('\\');
                    deliver(*v, self.header, e.id, e.timestamp, inside, escaped)
                }
                To::Buffer(b) => b.push(LogEvent {
                    id: e.id,
                    timestamp: e.timestamp,
                    message: unescape(inside),
                }),
            }
        }
        Ok(())
    }
}

/// On a shape error, look again with a lenient parse so that the error names the batch.
fn shape_error(bytes: &[u8], origin: &Origin, e: serde_json::Error) -> EnvelopeError {
    let mut origin = origin.clone();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        origin.log_group = s("logGroup");
        origin.log_stream = s("logStream");
        origin.first_event_id = v
            .get("logEvents")
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("id"))
            .and_then(|x| x.as_str())
            .map(str::to_owned);
    }
    EnvelopeError::Shape {
        origin,
        detail: e.to_string(),
    }
}

/// The Lambda's own input: either wrapper, read without copying the base64 text.
#[derive(Deserialize)]
struct LambdaEvent<'a> {
    #[serde(default, borrow)]
    awslogs: Option<AwsLogs<'a>>,
    #[serde(default, rename = "Records", borrow)]
    records: Option<Vec<KinesisRecord<'a>>>,
}

#[derive(Deserialize)]
struct AwsLogs<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
}

#[derive(Deserialize)]
struct KinesisRecord<'a> {
    #[serde(default, rename = "eventID", borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kinesis: KinesisData<'a>,
}

#[derive(Deserialize)]
struct KinesisData<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
    #[serde(default, rename = "sequenceNumber", borrow)]
    sequence_number: Option<Cow<'a, str>>,
}

/// Decodes a Lambda invocation payload (subscription or Kinesis event) into inflated payloads.
pub fn decode_lambda_event(event: &[u8], limit: usize) -> Result<Vec<Inflated>, EnvelopeError> {
    if event.trim_ascii().is_empty() {
        return Err(EnvelopeError::UnknownEvent {
            origin: Origin::at("event"),
            detail: "the event is empty".into(),
        });
    }
    let parsed: LambdaEvent<'_> =
        serde_json::from_slice(event).map_err(|e| EnvelopeError::UnknownEvent {
            origin: Origin::at("event"),
            detail: e.to_string(),
        })?;
    if let Some(logs) = parsed.awslogs {
        let origin = Origin::at("awslogs.data");
        let gz = decode_base64(logs.data.as_bytes(), &origin)?;
        return Ok(vec![inflate(&gz, limit, origin)?]);
    }
    if let Some(records) = parsed.records {
        let mut out = Vec::with_capacity(records.len());
        let mut used = 0usize;
        for (i, r) in records.iter().enumerate() {
            let id = r
                .event_id
                .as_deref()
                .or(r.kinesis.sequence_number.as_deref())
                .unwrap_or("?");
            let origin = Origin::at(format!("Records[{i}] ({id})"));
            let gz = decode_base64(r.kinesis.data.as_bytes(), &origin)?;
            // The cap is for the whole invocation, not per record.
            let inflated = inflate(&gz, limit - used, origin)?;
            used += inflated.bytes.len();
            out.push(inflated);
        }
        return Ok(out);
    }
    Err(EnvelopeError::UnknownEvent {
        origin: Origin::at("event"),
        detail: "neither `awslogs` nor `Records` is present".into(),
    })
}

#[cfg(test)]
mod tests;
