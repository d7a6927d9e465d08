//! Keeps secrets that appear in logs out of everything we write.
//!
//! Execution logs at INFO with data trace carry `Authorization`, `X-Amz-Security-Token`,
//! cookies and API keys. We never copy headers or bodies on purpose; this is the
//! second line of defence for the few log texts we do quote (error messages).

const SECRET_KEYS: &[&str] = &[
    "authorization",
    "x-amz-security-token",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api_key",
    "apikey",
    "token",
    "password",
    "secret",
];

/// Replaces the values of secret-looking `key=value` / `key: value` / `"key":"value"`
/// pairs and bearer tokens with `[REDACTED]`, and caps the length.
pub fn redact(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars) + 16);
    let lower = text.to_ascii_lowercase();
    let mut i = 0;
    let b = text.as_bytes();
    while i < text.len() {
        if let Some((key_end, value_start)) = secret_at(&lower, i) {
            out.push_str(&text[i..key_end]);
            out.push_str(&text[key_end..value_start]);
            out.push_str("[REDACTED]");
            let mut j = value_start;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b'"' | b'\n' | b'&') {
                j += 1;
            }
            i = j;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    truncate_chars(&out, max_chars)
}

/// At byte `i`, a secret key followed by a separator: returns (end of key, start of value).
fn secret_at(lower: &str, i: usize) -> Option<(usize, usize)> {
    let rest = &lower[i..];
    if rest.starts_with("bearer ") {
        return Some((i + 6, i + 7));
    }
    // Only at a word start, so `notoken` does not match `token`.
    if i > 0 {
        let prev = lower.as_bytes()[i - 1];
        if prev.is_ascii_alphanumeric() {
            return None;
        }
    }
    for key in SECRET_KEYS {
        if let Some(after) = rest.strip_prefix(key) {
            let sep_len = after
                .bytes()
                .take_while(|c| matches!(c, b'=' | b':' | b'"' | b' '))
                .count();
            let sep = &after[..sep_len];
            if sep.contains('=') || sep.contains(':') {
                return Some((i + key.len(), i + key.len() + sep_len));
            }
        }
    }
    None
}

pub fn truncate_chars(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        let t = "failed: {Authorization=Bearer abc.def, X-Amz-Security-Token=IQoJb3J, Cookie=sid=1} \"x-api-key\":\"k123\" token: zz";
        let r = redact(t, 500);
        for s in ["abc.def", "IQoJb3J", "sid=1", "k123", "zz"] {
            assert!(!r.contains(s), "{s} leaked in {r}");
        }
        assert!(r.contains("[REDACTED]"));
        assert_eq!(redact("notoken=5 is fine", 100), "notoken=5 is fine");
        assert_eq!(redact("ééé", 2), "éé…");
    }
}
