//! The subscription document read by hand: the hot path of every batch.
//!
//! serde_json walks every message byte by byte to find its closing quote and spent
//! about half of the engine's instructions doing so; here memchr finds the quotes and
//! backslashes, and everything else a document may hold is handed to serde_json one
//! value at a time (unknown fields, escaped keys, odd numbers). It accepts every
//! document serde_json accepts, and reads it the same (proptests in
//! tests/document_scan.rs pin that). Inside a message it is more tolerant: a raw
//! control character or an unknown escape is passed on as it stands, not refused.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::{deliver, unescape, EventVisitor, Header, LogEvent, Text};

/// Why the fast reader stopped before the end.
#[derive(Debug)]
pub(super) enum Stop {
    /// A document it leaves to serde_json starts at byte `at` (its events come
    /// before its header); nothing of it was delivered, `documents` before it were.
    HandOver { at: usize, documents: usize },
    /// Not a valid payload: serde_json, reading it again, says why.
    Invalid,
}

/// Streams the documents of `text` into `visitor`, as `super::visit_documents` does.
pub(super) fn visit<'a>(text: &'a str, visitor: &mut impl EventVisitor<'a>) -> Result<usize, Stop> {
    let mut c = Cursor { text, at: 0 };
    let mut documents = 0;
    while c.peek().is_some() {
        let at = c.at;
        match document(&mut c, visitor) {
            Err(Stop::HandOver { .. }) => return Err(Stop::HandOver { at, documents }),
            other => other?,
        }
        documents += 1;
    }
    Ok(documents)
}

fn document<'a>(c: &mut Cursor<'a>, visitor: &mut impl EventVisitor<'a>) -> Result<(), Stop> {
    let mut header = Header::default();
    let mut message_type = false;
    let mut started = false;
    // A second `logEvents` list after the first was streamed: delivered at the end,
    // with the header as it stands then (serde_json's reading does the same).
    let mut late: Vec<LogEvent<'a>> = Vec::new();
    c.object(|c, key| {
        match &*key {
            "messageType" => {
                message_type = true;
                header.message_type = c.text()?;
            }
            "owner" => header.owner = c.text()?,
            "logGroup" => header.log_group = c.text()?,
            "logStream" => header.log_stream = c.text()?,
            "logEvents" if started => c.events(&mut Late(&mut late))?,
            "logEvents" => {
                let known = !header.log_group.is_empty() && !header.log_stream.is_empty();
                if !(message_type && known) {
                    return Err(Stop::HandOver {
                        at: 0,
                        documents: 0,
                    });
                }
                visitor.document(&header);
                started = true;
                c.events(&mut Stream {
                    header: &header,
                    visitor: &mut *visitor,
                })?;
            }
            _ => {
                c.serde::<IgnoredAny>()?;
            }
        }
        Ok(())
    })?;
    if !message_type {
        return Err(Stop::Invalid);
    }
    if !started {
        visitor.document(&header);
    }
    for e in late {
        visitor.event(&header, e);
    }
    Ok(())
}

/// Where [`Cursor::events`] puts the events it reads.
trait Sink<'a> {
    /// See [`EventVisitor::event_in_place`].
    fn in_place(&mut self, id: &str, timestamp: i64, rest: &'a str) -> Option<usize>;
    /// The message as between its quotes, and whether it holds escapes.
    fn event(&mut self, id: Cow<'a, str>, timestamp: i64, inside: &'a str, escaped: bool);
}

/// Events streamed to the visitor as they are read.
struct Stream<'h, 'v, 'a, V> {
    header: &'h Header<'a>,
    visitor: &'v mut V,
}

impl<'a, V: EventVisitor<'a>> Sink<'a> for Stream<'_, '_, 'a, V> {
    fn in_place(&mut self, id: &str, timestamp: i64, rest: &'a str) -> Option<usize> {
        self.visitor
            .event_in_place(self.header, id, timestamp, rest)
    }
    fn event(&mut self, id: Cow<'a, str>, timestamp: i64, inside: &'a str, escaped: bool) {
        deliver(self.visitor, self.header, id, timestamp, inside, escaped);
    }
}

/// Events kept until the document's end.
struct Late<'v, 'a>(&'v mut Vec<LogEvent<'a>>);

impl<'a> Sink<'a> for Late<'_, 'a> {
    fn in_place(&mut self, _: &str, _: i64, _: &'a str) -> Option<usize> {
        None
    }
    fn event(&mut self, id: Cow<'a, str>, timestamp: i64, inside: &'a str, _: bool) {
        let message = unescape(inside);
        self.0.push(LogEvent {
            id,
            timestamp,
            message,
        });
    }
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    /// The next byte that is not JSON whitespace (the cursor moves up to it).
    fn peek(&mut self) -> Option<u8> {
        let b = self.text.as_bytes();
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(self.at) {
            self.at += 1;
        }
        b.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Result<(), Stop> {
        if self.peek() != Some(byte) {
            return Err(Stop::Invalid);
        }
        self.at += 1;
        Ok(())
    }

    /// After a member: `,` (more follow, true) or the `close` byte (false).
    fn next_member(&mut self, close: u8) -> Result<bool, Stop> {
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(Stop::Invalid),
        }
    }

    /// One JSON value read by serde_json, the cursor moved past it.
    fn serde<T: Deserialize<'a>>(&mut self) -> Result<T, Stop> {
        let mut values = serde_json::Deserializer::from_str(&self.text[self.at..]).into_iter();
        match values.next() {
            Some(Ok(v)) => {
                self.at += values.byte_offset();
                Ok(v)
            }
            _ => Err(Stop::Invalid),
        }
    }

    /// The inside of the string at the cursor (as between its quotes), and whether
    /// it holds escapes. A backslash hides the byte after it, so `\"` does not end it.
    fn string(&mut self) -> Result<(&'a str, bool), Stop> {
        self.eat(b'"')?;
        let b = self.text.as_bytes();
        let start = self.at;
        // memchr2 for the first stop (most messages have no escapes: one long run);
        // after an escape, runs are short (JSON inside the message) and read eight bytes at a time.
        let first = memchr::memchr2(b'"', b'\\', b.get(start..).ok_or(Stop::Invalid)?);
        let mut j = start + first.ok_or(Stop::Invalid)?;
        let mut escaped = false;
        while b[j] != b'"' {
            escaped = true;
            j = super::quote_or_backslash(b, j + 2).ok_or(Stop::Invalid)?;
        }
        self.at = j + 1;
        // Both ends sit next to an ASCII quote: always character boundaries.
        Ok((&self.text[start..j], escaped))
    }

    /// A string value or key: borrowed when it has no escapes, else decoded by serde_json.
    fn text(&mut self) -> Result<Cow<'a, str>, Stop> {
        if self.peek() == Some(b'"') {
            let at = self.at;
            match self.string()? {
                (inside, false) => return Ok(Cow::Borrowed(inside)),
                _ => self.at = at,
            }
        }
        self.serde::<Text<'a>>().map(|t| t.0)
    }

    /// An integer: plain digits read here, anything else (exponent, fraction, too
    /// long for this loop) by serde_json, which decides whether it is an i64.
    fn integer(&mut self) -> Result<i64, Stop> {
        self.peek();
        let b = self.text.as_bytes();
        let negative = b.get(self.at) == Some(&b'-');
        let first = self.at + usize::from(negative);
        let digits = b
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        let end = first + digits;
        let plain = (1..=18).contains(&digits)
            && !(digits > 1 && b[first] == b'0')
            && !matches!(b.get(end), Some(b'.' | b'e' | b'E'));
        if !plain {
            return self.serde::<i64>();
        }
        let value = b[first..end]
            .iter()
            .fold(0i64, |v, d| v * 10 + i64::from(d - b'0'));
        self.at = end;
        Ok(if negative { -value } else { value })
    }

    /// An object, each member's key given to `member`, which reads the value.
    fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        self.eat(b'{')?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            let key = self.text()?;
            self.eat(b':')?;
            member(self, key)?;
            if !self.next_member(b'}')? {
                return Ok(());
            }
        }
    }

    /// A `logEvents` list, each event given to `sink`.
    fn events(&mut self, sink: &mut impl Sink<'a>) -> Result<(), Stop> {
        self.eat(b'[')?;
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            // `message`: None until seen; Some(None) once the sink took it in place.
            let (mut id, mut timestamp, mut message) = (None, None, None);
            self.object(|c, key| {
                // A field given twice is an error, as for serde_json's derived reading.
                match &*key {
                    "id" if id.is_none() => id = Some(c.text()?),
                    "timestamp" if timestamp.is_none() => timestamp = Some(c.integer()?),
                    "message" if message.is_none() => {
                        let taken = match (&id, timestamp) {
                            (Some(id), Some(ts)) if c.peek() == Some(b'"') => {
                                let rest = &c.text[c.at + 1..];
                                let len = sink.in_place(id, ts, rest);
                                // The sink's promise, checked: `rest[len]` closes the message.
                                if len.is_some_and(|n| rest.as_bytes().get(n) != Some(&b'"')) {
                                    return Err(Stop::Invalid);
                                }
                                len
                            }
                            _ => None,
                        };
                        message = Some(match taken {
                            Some(len) => {
                                c.at += len + 2;
                                None
                            }
                            None => Some(c.string()?),
                        });
                    }
                    "id" | "timestamp" | "message" => return Err(Stop::Invalid),
                    _ => {
                        c.serde::<IgnoredAny>()?;
                    }
                }
                Ok(())
            })?;
            if let Some((inside, escaped)) = message.ok_or(Stop::Invalid)? {
                let id = id.unwrap_or_default();
                sink.event(id, timestamp.unwrap_or(0), inside, escaped);
            }
            if !self.next_member(b']')? {
                return Ok(());
            }
        }
    }
}
