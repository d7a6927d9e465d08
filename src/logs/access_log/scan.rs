//! The hand-written scanners: flat JSON records read in place (escaped or not), and the loose scanner for JSON the template made invalid.

use super::*;

/// The common case, fast: a flat JSON object whose strings have no escapes, read
/// with memchr and no allocation. `None` for anything else (nesting, escapes, a
/// malformed record), which then goes through serde_json or the loose scanner.
///
/// `escaped`: `s` is the record as it still stands inside the subscription document's
/// JSON string (`{ \"status\": \"504\" }`), so that it is read without unescaping the
/// message first; its quotes are then `\"`, and any other escape means `None`.
pub(super) fn scan_flat_json<'a>(
    s: &'a str,
    keys: &KeyLookup<'_>,
    escaped: bool,
) -> Option<AccessRecord<'a>> {
    scan_flat_json_at(s, keys, escaped).and_then(|(rec, end)| (end == s.len()).then_some(rec))
}

/// [`scan_flat_json`] on a record followed by anything: the record and where it ends
/// (after the whitespace behind its closing brace).
pub(super) fn scan_flat_json_at<'a>(
    s: &'a str,
    keys: &KeyLookup<'_>,
    escaped: bool,
) -> Option<(AccessRecord<'a>, usize)> {
    let mut rec = AccessRecord::default();
    let end = scan_flat_json_into(s, keys, escaped, &mut rec)?;
    Some((rec, end))
}

/// [`scan_flat_json_at`] into `rec` (a record is ~400 bytes: returned through a few
/// calls, it was copied each time).
pub(super) fn scan_flat_json_into<'a>(
    s: &'a str,
    keys: &KeyLookup<'_>,
    escaped: bool,
    rec: &mut AccessRecord<'a>,
) -> Option<usize> {
    // One copy per quoting: the quote test runs for every key and value.
    match escaped {
        true => scan_flat::<true>(s, keys, rec),
        false => scan_flat::<false>(s, keys, rec),
    }
}

pub(super) fn scan_flat<'a, const ESCAPED: bool>(
    s: &'a str,
    keys: &KeyLookup<'_>,
    rec: &mut AccessRecord<'a>,
) -> Option<usize> {
    let b = s.as_bytes();
    let quote_len = if ESCAPED { 2 } else { 1 };
    let skip_ws = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let is_quote = |i: usize| match ESCAPED {
        true => b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'"'),
        false => b.get(i) == Some(&b'"'),
    };
    // The string that opens at `i`: (its text's end, the index after its closing quote),
    // if it has no escapes.
    let string_end = |i: usize| {
        let p = crate::logs::envelope::quote_or_backslash(b, i + quote_len)?;
        is_quote(p).then_some((p, p + quote_len))
    };
    // Borrowed once per record, not per key.
    let mut memo = keys.1.borrow_mut();
    let mut i = skip_ws(1);
    let mut place = 0;
    if b.get(i) == Some(&b'}') {
        return Some(skip_ws(i + 1));
    }
    loop {
        let lead = memo.leads[usize::from(ESCAPED)].get(place);
        let field = match lead {
            // The same bytes as last time: the same key, and the same spaces around its colon.
            Some((lead, field)) if starts_with(&b[i..], lead) => {
                let field = *field;
                i = skip_ws(i + lead.len());
                field
            }
            _ => {
                if !is_quote(i) {
                    return None;
                }
                let start = i;
                let (key_end, after) = string_end(i)?;
                let key = &s[i + quote_len..key_end];
                i = skip_ws(after);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                i = skip_ws(i + 1);
                let field = keys.top_in(&mut memo, place, key);
                let leads = &mut memo.leads[usize::from(ESCAPED)];
                let lead = (Box::from(&b[start..i]), field);
                if place < leads.len() {
                    leads[place] = lead;
                } else if place == leads.len() && place < MEMO_PLACES {
                    leads.push(lead);
                }
                field
            }
        };
        let value = match *b.get(i)? {
            _ if is_quote(i) => {
                let (end, after) = string_end(i)?;
                let v = &s[i + quote_len..end];
                i = after;
                Ok(v)
            }
            b'{' | b'[' | b'"' | b'\\' => return None,
            _ => {
                let len = b[i..]
                    .iter()
                    .position(|c| matches!(c, b',' | b'}') || c.is_ascii_whitespace())
                    .unwrap_or(b.len() - i);
                let lit = &s[i..i + len];
                i += len;
                match lit {
                    "null" | "true" | "false" => Err(Scalar::Null),
                    _ if lit.starts_with(|c: char| c == '-' || c.is_ascii_digit())
                        && lit
                            .bytes()
                            .all(|c| c.is_ascii_digit() || b"-+.eE".contains(&c)) =>
                    {
                        Err(Scalar::Num(lit.parse().ok()?))
                    }
                    _ => return None,
                }
            }
        };
        if let Some(field) = field {
            match value {
                Ok(text) => rec.set_borrowed(field, text),
                Err(v) => rec.set(field, v),
            }
        }
        place += 1;
        i = skip_ws(i);
        match b.get(i) {
            Some(b',') => i = skip_ws(i + 1),
            Some(b'}') => return Some(skip_ws(i + 1)),
            _ => return None,
        }
    }
}

/// Reads `"key": value` pairs from JSON that a template made invalid:
/// bare `-`, unquoted numbers, doubled quotes from `error.messageString`.
pub(super) fn scan_loose_json<'a>(s: &'a str, keys: &KeyLookup<'_>) -> AccessRecord<'a> {
    let mut place = 0;
    let mut rec = AccessRecord::default();
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(q) = memchr::memchr(b'"', &b[i..]) {
        let key_start = i + q + 1;
        let Some(kq) = memchr::memchr(b'"', &b[key_start..]) else {
            break;
        };
        let key = &s[key_start..key_start + kq];
        let mut j = key_start + kq + 1;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= b.len() || b[j] != b':' {
            // That quote closed a value, not a key: go on from it.
            i = key_start + kq;
            continue;
        }
        j += 1;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let (value, next) = if j < b.len() && b[j] == b'"' {
            // The value ends at the quote that is followed by `,` or `}`.
            let mut k = j + 1;
            let end = loop {
                match memchr::memchr(b'"', &b[k..]) {
                    Some(p) => {
                        let at = k + p;
                        let after = s[at + 1..].trim_start();
                        if after.is_empty() || after.starts_with(',') || after.starts_with('}') {
                            break Some(at);
                        }
                        k = at + 1;
                    }
                    None => break None,
                }
            };
            match end {
                Some(e) => (&s[j + 1..e], e + 1),
                None => (&s[j + 1..], b.len()),
            }
        } else {
            let end = s[j..].find([',', '}']).map_or(b.len(), |p| j + p);
            (s[j..end].trim(), end)
        };
        if let Some(field) = keys.top(place, key) {
            rec.set(field, Scalar::Str(Cow::Borrowed(value)));
        }
        place += 1;
        i = next.max(j);
        if i >= b.len() {
            break;
        }
    }
    rec
}
