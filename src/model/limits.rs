//! The integration timeout each request is held against.
//!
//! Defaults per API type (REST and WebSocket 29 s, HTTP 30 s), then overrides
//! per API, API/stage or route, because Regional and private REST APIs can raise
//! their limit above 29 s through a quota request.

use crate::model::route::Route;

pub const REST_DEFAULT_MS: u64 = 29_000;
pub const HTTP_DEFAULT_MS: u64 = 30_000;
/// The smallest integration timeout API Gateway accepts.
pub const MIN_MS: u64 = 50;
/// A sanity bound on overrides (raised REST limits are reported up to 300 s).
pub const MAX_MS: u64 = 900_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    Rest,
    Http,
    WebSocket,
}

impl ApiKind {
    pub fn default_limit_ms(self) -> u64 {
        match self {
            ApiKind::Http => HTTP_DEFAULT_MS,
            ApiKind::Rest | ApiKind::WebSocket => REST_DEFAULT_MS,
        }
    }
    /// The status a client gets when the integration times out: HTTP APIs answer
    /// 503 Service Unavailable (observed), REST and WebSocket APIs 504.
    pub fn timeout_status(self) -> u16 {
        match self {
            ApiKind::Http => 503,
            ApiKind::Rest | ApiKind::WebSocket => 504,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ApiKind::Rest => "REST API",
            ApiKind::Http => "HTTP API",
            ApiKind::WebSocket => "WebSocket API",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Override {
    api_id: String,
    stage: Option<String>,
    route: Option<String>,
    ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Replaces the per-type defaults when set (`--timeout-ms`, `TIMEOUT_MS`).
    pub default_ms: Option<u64>,
    overrides: Vec<Override>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitsError {
    #[error("`{0}` is not of the form KEY=MILLISECONDS, where KEY is apiId, apiId/stage or apiId/stage/METHOD /path")]
    Form(String),
    #[error("`{0}`: the limit must be a whole number of milliseconds from {MIN_MS} to {MAX_MS}")]
    Range(String),
}

pub fn parse_ms(text: &str) -> Result<u64, LimitsError> {
    match text.trim().parse::<u64>() {
        Ok(ms) if (MIN_MS..=MAX_MS).contains(&ms) => Ok(ms),
        _ => Err(LimitsError::Range(text.trim().to_owned())),
    }
}

impl Limits {
    /// Parses `abc123=60000,xyz789/prod=30000,abc123/prod/POST /orders=45000`.
    pub fn with_overrides(mut self, spec: &str) -> Result<Limits, LimitsError> {
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, ms) = item
                .rsplit_once('=')
                .ok_or_else(|| LimitsError::Form(item.to_owned()))?;
            let ms = parse_ms(ms).map_err(|_| LimitsError::Range(item.to_owned()))?;
            let mut parts = key.trim().splitn(3, '/');
            let api_id = parts.next().unwrap_or("").trim();
            if api_id.is_empty() || api_id.contains(' ') {
                return Err(LimitsError::Form(item.to_owned()));
            }
            let stage = parts.next().map(|s| s.trim().to_owned());
            if stage.as_deref() == Some("") {
                return Err(LimitsError::Form(item.to_owned()));
            }
            let route = parts.next().map(|r| {
                // `POST /orders` arrives as `POST /orders`; `POST%20/orders` is not expected.
                let r = r.trim();
                match r.split_once(' ') {
                    Some((m, p)) if !p.starts_with('/') => format!("{m} /{p}"),
                    _ => r.to_owned(),
                }
            });
            self.overrides.push(Override {
                api_id: api_id.to_owned(),
                stage,
                route,
                ms,
            });
        }
        Ok(self)
    }

    /// The limit for a request: the most specific override, else the default.
    pub fn limit_ms(&self, kind: ApiKind, api_id: &str, stage: &str, route: &Route) -> u64 {
        let mut best: Option<(u8, u64)> = None;
        for o in &self.overrides {
            if o.api_id != api_id {
                continue;
            }
            let rank = match (&o.stage, &o.route) {
                (None, _) => 1,
                (Some(s), None) if s == stage => 2,
                (Some(s), Some(r)) if s == stage && r == route.as_str() => 3,
                _ => continue,
            };
            if best.is_none_or(|(b, _)| rank > b) {
                best = Some((rank, o.ms));
            }
        }
        best.map(|(_, ms)| ms)
            .or(self.default_ms)
            .unwrap_or_else(|| kind.default_limit_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_wins() {
        let l = Limits::default()
            .with_overrides("abc123=60000, abc123/prod=45000,abc123/prod/POST /orders=50000")
            .unwrap();
        let r = Route::new("POST", "/orders");
        let other = Route::new("GET", "/x");
        assert_eq!(l.limit_ms(ApiKind::Rest, "abc123", "prod", &r), 50_000);
        assert_eq!(l.limit_ms(ApiKind::Rest, "abc123", "prod", &other), 45_000);
        assert_eq!(l.limit_ms(ApiKind::Rest, "abc123", "dev", &other), 60_000);
        assert_eq!(l.limit_ms(ApiKind::Rest, "zzz", "dev", &other), 29_000);
        assert_eq!(l.limit_ms(ApiKind::Http, "zzz", "dev", &other), 30_000);
        let d = Limits {
            default_ms: Some(10_000),
            ..Limits::default()
        };
        assert_eq!(d.limit_ms(ApiKind::Http, "zzz", "dev", &other), 10_000);
    }

    #[test]
    fn bad_overrides_are_named() {
        assert!(matches!(
            Limits::default().with_overrides("abc"),
            Err(LimitsError::Form(_))
        ));
        assert!(matches!(
            Limits::default().with_overrides("abc=10"),
            Err(LimitsError::Range(_))
        ));
        assert!(matches!(
            Limits::default().with_overrides("abc=x"),
            Err(LimitsError::Range(_))
        ));
        assert!(matches!(
            Limits::default().with_overrides("=100"),
            Err(LimitsError::Form(_))
        ));
        assert_eq!(
            Limits::default().with_overrides("").unwrap(),
            Limits::default()
        );
    }
}
