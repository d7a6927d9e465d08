//! The words of what reading integration limits from API Gateway noticed.

use crate::model::limits::{Endpoint, LimitNote};
use crate::render::display::seconds;

/// The endpoint as people name it, with its article.
pub fn endpoint(e: Endpoint) -> &'static str {
    match e {
        Endpoint::Rest => "a REST API",
        Endpoint::Edge => "an edge-optimized REST API",
        Endpoint::Regional => "a Regional REST API",
        Endpoint::Private => "a private REST API",
        Endpoint::Http => "an HTTP API",
        Endpoint::WebSocket => "a WebSocket API",
    }
}

/// One note, as a warning line.
pub fn note(api_id: &str, stage: &str, n: &LimitNote) -> String {
    match n {
        LimitNote::Capped {
            route,
            claimed_ms,
            cap_ms,
            endpoint: e,
        } => format!(
            "{api_id}/{stage} {route}: the integration's timeoutInMillis is {}, but {} waits {} at most; held at {}",
            seconds(*claimed_ms),
            endpoint(*e),
            seconds(*cap_ms),
            seconds(*cap_ms)
        ),
        LimitNote::OutOfRange { route, ms } => format!(
            "{api_id}/{stage} {route}: the integration's timeoutInMillis ({ms} ms) is not a limit API Gateway holds; the default applies"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_read_as_sentences() {
        let capped = LimitNote::Capped {
            route: "POST /orders".into(),
            claimed_ms: 60_000,
            cap_ms: 29_000,
            endpoint: Endpoint::Edge,
        };
        assert_eq!(
            note("abc", "prod", &capped),
            "abc/prod POST /orders: the integration's timeoutInMillis is 60 s, but an edge-optimized REST API waits 29 s at most; held at 29 s"
        );
        let http = LimitNote::Capped {
            route: "GET /x".into(),
            claimed_ms: 45_000,
            cap_ms: 30_000,
            endpoint: Endpoint::Http,
        };
        assert!(note("abc", "prod", &http).contains("an HTTP API waits 30 s at most"));
        let bad = LimitNote::OutOfRange {
            route: "GET /b".into(),
            ms: 10,
        };
        assert!(note("abc", "prod", &bad).contains("(10 ms)"));
    }
}
