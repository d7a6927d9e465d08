//! The route of a request: method plus resource *template* (`POST /orders/{orderId}`).
//!
//! Execution logs carry the concrete path (`/orders/12334332`), which would make
//! one metric dimension per order. The template is recovered, best evidence first:
//! the usage-plan line, then the path parameters put back, then id-like segments
//! normalised to `{id}`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(into = "String")]
pub struct Route(String);

const UNKNOWN: &str = "unknown route";

impl Route {
    pub fn new(method: &str, template: &str) -> Route {
        let mut text = String::new();
        Self::write(method, template, &mut text);
        Route(text)
    }
    /// An HTTP or WebSocket API route key as logged (`GET /items`, `$connect`, `$default`).
    pub fn from_key(key: &str) -> Route {
        Route(key.trim().to_owned())
    }
    pub fn unknown() -> Route {
        Route(UNKNOWN.to_owned())
    }
    /// The text of `Route::new(method, template)`, appended to `out` (no allocation
    /// when `out` has room: the engine looks routes up by this text).
    pub fn write(method: &str, template: &str, out: &mut String) {
        out.push_str(method.trim());
        out.push(' ');
        out.push_str(template.trim());
    }
    /// The text of `Route::unknown()`, appended to `out`.
    pub fn write_unknown(out: &mut String) {
        out.push_str(UNKNOWN);
    }
    /// The route whose text `write` or `write_unknown` wrote.
    pub(crate) fn from_written(text: String) -> Route {
        Route(text)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_unknown(&self) -> bool {
        self.0 == UNKNOWN
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Route> for String {
    fn from(r: Route) -> String {
        r.0
    }
}

/// Puts `Method request path: {orderId=123}` parameters back into `/orders/123`.
/// `None` when no parameter could be placed (the caller then normalises).
pub fn template_from_params(path: &str, params: &str) -> Option<String> {
    let inner = params.trim().strip_prefix('{')?.strip_suffix('}')?;
    if inner.trim().is_empty() {
        // No parameters: the concrete path is the template.
        return Some(path.to_owned());
    }
    let mut segments: Vec<String> = path.split('/').map(str::to_owned).collect();
    let mut placed = false;
    for pair in inner.split(", ") {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        if value.contains('/') {
            // A greedy `{proxy+}` parameter covers the tail of the path.
            if let Some(prefix) = path.strip_suffix(value) {
                let mut t: Vec<String> = prefix.split('/').map(str::to_owned).collect();
                if let Some(last) = t.last_mut() {
                    *last = format!("{{{name}+}}");
                }
                segments = t;
                placed = true;
            }
            continue;
        }
        if let Some(seg) = segments.iter_mut().find(|s| s.as_str() == value) {
            *seg = format!("{{{name}}}");
            placed = true;
        }
    }
    placed.then(|| segments.join("/"))
}

/// Replaces id-like path segments with `{id}`: numbers, UUIDs, long hex or
/// base64 tokens, and codes with a long digit run (`ord-12345`).
pub fn normalise_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    path.split('/')
        .map(|s| if is_id_like(s) { "{id}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_id_like(s: &str) -> bool {
    if s.is_empty() || s.starts_with('{') {
        return false;
    }
    let b = s.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let all_digits = digits == b.len();
    let uuid = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    let hex = b.len() >= 16 && b.iter().all(u8::is_ascii_hexdigit);
    let token = b.len() >= 16
        && digits > 0
        && b.iter().any(u8::is_ascii_alphabetic)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'=' | b'+'));
    let longest_run = b
        .split(|c| !c.is_ascii_digit())
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    all_digits || uuid || hex || token || longest_run >= 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_put_back() {
        assert_eq!(
            template_from_params("/orders/12334332", "{orderId=12334332}").as_deref(),
            Some("/orders/{orderId}")
        );
        assert_eq!(
            template_from_params("/a/1/b/2", "{x=1, y=2}").as_deref(),
            Some("/a/{x}/b/{y}")
        );
        assert_eq!(
            template_from_params("/echo", "{}").as_deref(),
            Some("/echo")
        );
        assert_eq!(
            template_from_params("/files/a/b.txt", "{proxy=a/b.txt}").as_deref(),
            Some("/files/{proxy+}")
        );
        assert_eq!(template_from_params("/x/1", "{y=9}"), None);
        assert_eq!(template_from_params("/x/1", "not a map"), None);
    }

    #[test]
    fn normalising() {
        assert_eq!(normalise_path("/orders/12334332"), "/orders/{id}");
        assert_eq!(
            normalise_path("/orders/ord-12345/items"),
            "/orders/{id}/items"
        );
        assert_eq!(
            normalise_path("/u/fbcaf9e5-d535-40a1-891c-7b70118cf7e8"),
            "/u/{id}"
        );
        assert_eq!(normalise_path("/t/Vts2pH6ArPEFcuQ3x9"), "/t/{id}");
        assert_eq!(normalise_path("/api/v2/health"), "/api/v2/health");
        assert_eq!(normalise_path("/"), "/");
        assert_eq!(normalise_path("/p?x=1"), "/p");
    }
}
