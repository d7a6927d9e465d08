//! The integration timeout each request is held against.
//!
//! Defaults per API type (REST and WebSocket 29 s, HTTP 30 s), then overrides
//! per API, API/stage or route, because Regional and private REST APIs can raise
//! their limit above 29 s through a quota request. The CLI's fetch mode also reads each
//! integration's `timeoutInMillis` from API Gateway ([`ApiLimits`]); those limits rank
//! below every explicit setting (docs/limits.md).

use crate::model::route::Route;
use crate::model::scope::{Rank, Scope};

pub const REST_DEFAULT_MS: u64 = 29_000;
pub const HTTP_DEFAULT_MS: u64 = 30_000;
/// The smallest integration timeout API Gateway accepts.
pub const MIN_MS: u64 = 50;
/// A sanity bound on overrides (raised REST limits are reported up to 300 s).
pub const MAX_MS: u64 = 900_000;
/// A streamed REST response (`responseTransferMode` `STREAM`) may run 15 minutes
/// (docs/reference/limits-and-streaming.md §3).
pub const STREAM_MAX_MS: u64 = 900_000;

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

/// Where the limit a request is held against came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitSource {
    /// `--timeout-ms`, `--timeout-overrides`, `TIMEOUT_MS`, `TIMEOUT_OVERRIDES`.
    Setting,
    /// The integration's own `timeoutInMillis`, read from API Gateway.
    Api,
    /// The API type's default (29 s REST and WebSocket, 30 s HTTP).
    Default,
    /// The log says: a streamed response (access log `STREAMED`, or the Lambda
    /// `response-streaming-invocations` path), held against the 15-minute ceiling.
    Log,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Override {
    scope: Scope,
    ms: u64,
    source: LimitSource,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Replaces the per-type defaults when set (`--timeout-ms`, `TIMEOUT_MS`).
    pub default_ms: Option<u64>,
    overrides: Vec<Override>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitsError {
    #[error("`{0}` is not of the form KEY=MILLISECONDS, where KEY is apiId, apiId/stage or apiId/stage/METHOD /path, each optionally after ACCOUNT: (or ACCOUNT:* for a whole account)")]
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
    /// Parses `abc123=60000,xyz789/prod=30000,abc123/prod/POST /orders=45000`; a key may
    /// name its account (`111122223333:abc123=60000`, `111122223333:*=60000`).
    pub fn with_overrides(mut self, spec: &str) -> Result<Limits, LimitsError> {
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, ms) = item
                .rsplit_once('=')
                .ok_or_else(|| LimitsError::Form(item.to_owned()))?;
            let ms = parse_ms(ms).map_err(|_| LimitsError::Range(item.to_owned()))?;
            let mut scope = Scope::parse(key).ok_or_else(|| LimitsError::Form(item.to_owned()))?;
            scope.route = scope.route.as_deref().map(route_key);
            self.overrides.push(Override {
                scope,
                ms,
                source: LimitSource::Setting,
            });
        }
        Ok(self)
    }

    /// The limit for a request and where it came from: the most specific explicit
    /// override, else `--timeout-ms`, else the most specific limit read from the API, else
    /// the type's default. `account`: whose logs the request is in, when they say.
    pub fn limit(&self, kind: ApiKind, place: Place<'_>) -> (u64, LimitSource) {
        if let Some(ms) = self.best(LimitSource::Setting, place) {
            return (ms, LimitSource::Setting);
        }
        if let Some(ms) = self.default_ms {
            return (ms, LimitSource::Setting);
        }
        match self.best(LimitSource::Api, place) {
            Some(ms) => (ms, LimitSource::Api),
            None => (kind.default_limit_ms(), LimitSource::Default),
        }
    }

    /// [`Limits::limit`] for a request whose log says its response was streamed: an
    /// explicit setting or the integration's own timeout still wins; else the stream's
    /// 15-minute ceiling, never the buffered 29 s default.
    pub fn limit_streamed(&self, kind: ApiKind, place: Place<'_>) -> (u64, LimitSource) {
        match self.limit(kind, place) {
            (_, LimitSource::Default) => (STREAM_MAX_MS, LimitSource::Log),
            known => known,
        }
    }

    /// The most specific override of `source` that matches the request.
    fn best(&self, source: LimitSource, p: Place<'_>) -> Option<u64> {
        self.overrides
            .iter()
            .filter(|o| o.source == source)
            .filter_map(|o| {
                Some((
                    o.scope
                        .rank(p.account, p.api_id, p.stage, p.route.as_str())?,
                    o.ms,
                ))
            })
            // The first of equally specific overrides wins, as written.
            .fold(None, |best: Option<(Rank, u64)>, (rank, ms)| match best {
                Some((b, _)) if b >= rank => best,
                _ => Some((rank, ms)),
            })
            .map(|(_, ms)| ms)
    }
}

/// Where a request is, as the limits are looked up: (account, API, stage, route).
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub account: Option<&'a str>,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub route: &'a Route,
}

impl<'a> Place<'a> {
    /// A place whose account the logs do not name.
    pub fn new(api_id: &'a str, stage: &'a str, route: &'a Route) -> Place<'a> {
        Place {
            account: None,
            api_id,
            stage,
            route,
        }
    }

    pub fn in_account(self, account: Option<&'a str>) -> Place<'a> {
        Place { account, ..self }
    }
}

/// `POST /orders` as given (`POST orders` gains its slash); `$default` stays.
fn route_key(r: &str) -> String {
    let r = r.trim();
    match r.split_once(' ') {
        Some((m, p)) if !p.starts_with('/') => format!("{m} /{p}"),
        _ => r.to_owned(),
    }
}

/// How API Gateway serves an API, as far as its integration limit goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// A REST API whose endpoint type could not be read: no cap is known.
    Rest,
    /// An edge-optimized REST API: 29 s at most, whatever the account's quota.
    Edge,
    /// A Regional REST API: up to the account's quota (raisable since June 2024).
    Regional,
    /// A private REST API: as Regional.
    Private,
    /// An HTTP API: 30 s at most.
    Http,
    /// A WebSocket API: 29 s at most.
    WebSocket,
}

impl Endpoint {
    /// The highest limit the endpoint allows; `None`: the account's quota, not known here.
    pub fn cap_ms(self) -> Option<u64> {
        match self {
            Endpoint::Edge | Endpoint::WebSocket => Some(REST_DEFAULT_MS),
            Endpoint::Http => Some(HTTP_DEFAULT_MS),
            Endpoint::Rest | Endpoint::Regional | Endpoint::Private => None,
        }
    }
    /// REST APIs log the request's own method: an `ANY` method stands for the others.
    fn is_rest(self) -> bool {
        matches!(
            self,
            Endpoint::Rest | Endpoint::Edge | Endpoint::Regional | Endpoint::Private
        )
    }
}

/// One integration's timeout as API Gateway holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationLimit {
    /// REST: the method and resource path (`GET /orders/{id}`, `ANY /x` included);
    /// HTTP and WebSocket: the route key (`GET /items`, `$default`).
    pub route: String,
    /// `timeoutInMillis`; `None` when API Gateway gave none (the default holds).
    pub ms: Option<u64>,
    /// A REST integration with `responseTransferMode` `STREAM`: up to 15 minutes on any
    /// endpoint type, so no endpoint cap applies.
    pub streaming: bool,
}

/// The integration limits read from API Gateway for one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiLimits {
    pub api_id: String,
    pub stage: String,
    pub endpoint: Endpoint,
    pub integrations: Vec<IntegrationLimit>,
}

/// What turning [`ApiLimits`] into limits noticed (their words are made in render/words/limits.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitNote {
    /// The integration claims more than its endpoint allows: it is held at the cap.
    Capped {
        route: String,
        claimed_ms: u64,
        cap_ms: u64,
        endpoint: Endpoint,
    },
    /// A value outside what API Gateway accepts: ignored, the default holds.
    OutOfRange { route: String, ms: u64 },
}

/// The methods an `ANY` method of a REST resource answers.
const ANY_METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

impl ApiLimits {
    /// Each integration's limit, capped by the endpoint and checked against the range.
    fn held(&self, notes: &mut Vec<LimitNote>) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for i in &self.integrations {
            let Some(ms) = i.ms else { continue };
            let route = route_key(&i.route);
            if !(MIN_MS..=MAX_MS).contains(&ms) {
                notes.push(LimitNote::OutOfRange { route, ms });
                continue;
            }
            let cap = self.endpoint.cap_ms().filter(|_| !i.streaming);
            let held = match cap {
                Some(cap) if ms > cap => {
                    notes.push(LimitNote::Capped {
                        route: route.clone(),
                        claimed_ms: ms,
                        cap_ms: cap,
                        endpoint: self.endpoint,
                    });
                    cap
                }
                _ => ms,
            };
            out.push((route, held));
        }
        out
    }

    /// The routes as requests log them: a REST `ANY /x` becomes each method that `/x`
    /// does not define itself (an explicit method takes precedence over `ANY`).
    fn expanded(&self, held: Vec<(String, u64)>) -> Vec<(String, u64)> {
        if !self.endpoint.is_rest() {
            return held;
        }
        let mut out: Vec<(String, u64)> = Vec::new();
        let mut any = Vec::new();
        for (route, ms) in held {
            match route.strip_prefix("ANY ") {
                Some(path) => any.push((path.to_owned(), ms)),
                None => out.push((route, ms)),
            }
        }
        for (path, ms) in any {
            for m in ANY_METHODS {
                let route = format!("{m} {path}");
                if !out.iter().any(|(r, _)| *r == route) {
                    out.push((route, ms));
                }
            }
        }
        out
    }
}

impl Limits {
    /// Adds the limits read from API Gateway, below every explicit setting (see
    /// [`Limits::limit`]); integrations without a value keep the default.
    pub fn with_api_limits(mut self, api: &ApiLimits) -> (Limits, Vec<LimitNote>) {
        let mut notes = Vec::new();
        let held = api.held(&mut notes);
        for (route, ms) in api.expanded(held) {
            self.overrides.push(Override {
                scope: Scope {
                    account: None,
                    api_id: Some(api.api_id.clone()),
                    stage: Some(api.stage.clone()),
                    route: Some(route),
                },
                ms,
                source: LimitSource::Api,
            });
        }
        (self, notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_have_limits_of_their_own() {
        let l = Limits::default()
            .with_overrides("111122223333:*=60000, abc123=45000, 444455556666:abc123=50000")
            .unwrap();
        let r = Route::new("GET", "/");
        let at = |account| {
            l.limit(
                ApiKind::Rest,
                Place::new("abc123", "prod", &r).in_account(account),
            )
            .0
        };
        assert_eq!(at(Some("444455556666")), 50_000);
        // An API's override is more specific than an account-wide one.
        assert_eq!(at(Some("111122223333")), 45_000);
        assert_eq!(at(None), 45_000);
        let other = |account| {
            l.limit(
                ApiKind::Rest,
                Place::new("xyz", "prod", &r).in_account(account),
            )
            .0
        };
        assert_eq!((other(Some("111122223333")), other(None)), (60_000, 29_000));
        assert!(Limits::default().with_overrides("*=60000").is_err());
    }

    #[test]
    fn most_specific_wins() {
        let l = Limits::default()
            .with_overrides("abc123=60000, abc123/prod=45000,abc123/prod/POST /orders=50000")
            .unwrap();
        let r = Route::new("POST", "/orders");
        let other = Route::new("GET", "/x");
        assert_eq!(
            l.limit(ApiKind::Rest, Place::new("abc123", "prod", &r)).0,
            50_000
        );
        assert_eq!(
            l.limit(ApiKind::Rest, Place::new("abc123", "prod", &other))
                .0,
            45_000
        );
        assert_eq!(
            l.limit(ApiKind::Rest, Place::new("abc123", "dev", &other))
                .0,
            60_000
        );
        assert_eq!(
            l.limit(ApiKind::Rest, Place::new("zzz", "dev", &other)).0,
            29_000
        );
        assert_eq!(
            l.limit(ApiKind::Http, Place::new("zzz", "dev", &other)).0,
            30_000
        );
        let d = Limits {
            default_ms: Some(10_000),
            ..Limits::default()
        };
        assert_eq!(
            d.limit(ApiKind::Http, Place::new("zzz", "dev", &other)).0,
            10_000
        );
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

    fn api(endpoint: Endpoint, integrations: &[(&str, Option<u64>)]) -> ApiLimits {
        ApiLimits {
            api_id: "abc123".into(),
            stage: "prod".into(),
            endpoint,
            integrations: integrations
                .iter()
                .map(|(r, ms)| IntegrationLimit {
                    route: (*r).into(),
                    ms: *ms,
                    streaming: false,
                })
                .collect(),
        }
    }

    fn at(l: &Limits, kind: ApiKind, route: &str) -> (u64, LimitSource) {
        let (m, p) = route.split_once(' ').unwrap_or((route, ""));
        let r = if p.is_empty() {
            Route::from_key(route)
        } else {
            Route::new(m, p)
        };
        l.limit(kind, Place::new("abc123", "prod", &r))
    }

    #[test]
    fn api_limits_hold_their_routes_and_missing_values_keep_defaults() {
        let a = api(
            Endpoint::Regional,
            &[("GET /slow", Some(60_000)), ("GET /plain", None)],
        );
        let (l, notes) = Limits::default().with_api_limits(&a);
        assert!(notes.is_empty());
        assert_eq!(
            at(&l, ApiKind::Rest, "GET /slow"),
            (60_000, LimitSource::Api)
        );
        assert_eq!(
            at(&l, ApiKind::Rest, "GET /plain"),
            (29_000, LimitSource::Default)
        );
        // Another stage of the same API is not this stage's integrations.
        let r = Route::new("GET", "/slow");
        assert_eq!(
            l.limit(ApiKind::Rest, Place::new("abc123", "dev", &r)).0,
            29_000
        );
        // Nothing read at all: the defaults.
        let (l, _) = Limits::default().with_api_limits(&api(Endpoint::Http, &[]));
        assert_eq!(
            at(&l, ApiKind::Http, "GET /x"),
            (30_000, LimitSource::Default)
        );
    }

    #[test]
    fn explicit_settings_win_over_the_api() {
        let a = api(Endpoint::Regional, &[("GET /slow", Some(60_000))]);
        // An API-wide override outranks the API's route limit: the user said so.
        let set = Limits::default().with_overrides("abc123=45000").unwrap();
        let (l, _) = set.with_api_limits(&a);
        assert_eq!(
            at(&l, ApiKind::Rest, "GET /slow"),
            (45_000, LimitSource::Setting)
        );
        // --timeout-ms holds every request.
        let flat = Limits {
            default_ms: Some(20_000),
            ..Limits::default()
        };
        let (l, _) = flat.with_api_limits(&a);
        assert_eq!(
            at(&l, ApiKind::Rest, "GET /slow"),
            (20_000, LimitSource::Setting)
        );
        // An override for another API leaves this one's limits read from the API.
        let other = Limits::default().with_overrides("zzz=45000").unwrap();
        let (l, _) = other.with_api_limits(&a);
        assert_eq!(
            at(&l, ApiKind::Rest, "GET /slow"),
            (60_000, LimitSource::Api)
        );
    }

    #[test]
    fn edge_and_http_apis_are_capped_with_a_note() {
        let a = api(Endpoint::Edge, &[("POST /orders", Some(60_000))]);
        let (l, notes) = Limits::default().with_api_limits(&a);
        assert_eq!(
            at(&l, ApiKind::Rest, "POST /orders"),
            (29_000, LimitSource::Api)
        );
        assert_eq!(
            notes,
            vec![LimitNote::Capped {
                route: "POST /orders".into(),
                claimed_ms: 60_000,
                cap_ms: 29_000,
                endpoint: Endpoint::Edge,
            }]
        );
        let h = api(
            Endpoint::Http,
            &[("GET /items", Some(45_000)), ("$default", Some(10_000))],
        );
        let (l, notes) = Limits::default().with_api_limits(&h);
        assert_eq!(
            at(&l, ApiKind::Http, "GET /items"),
            (30_000, LimitSource::Api)
        );
        assert_eq!(
            at(&l, ApiKind::Http, "$default"),
            (10_000, LimitSource::Api)
        );
        assert_eq!(notes.len(), 1);
        // A streaming integration may wait 15 minutes on any endpoint type.
        let mut s = api(Endpoint::Edge, &[("GET /stream", Some(900_000))]);
        s.integrations[0].streaming = true;
        let (l, notes) = Limits::default().with_api_limits(&s);
        assert_eq!(at(&l, ApiKind::Rest, "GET /stream").0, 900_000);
        assert!(notes.is_empty());
        // A Regional API above 29 s is believed; a value API Gateway cannot hold is not.
        let r = api(
            Endpoint::Regional,
            &[("GET /a", Some(120_000)), ("GET /b", Some(10))],
        );
        let (l, notes) = Limits::default().with_api_limits(&r);
        assert_eq!(at(&l, ApiKind::Rest, "GET /a").0, 120_000);
        assert_eq!(
            at(&l, ApiKind::Rest, "GET /b"),
            (29_000, LimitSource::Default)
        );
        assert_eq!(
            notes,
            vec![LimitNote::OutOfRange {
                route: "GET /b".into(),
                ms: 10
            }]
        );
    }

    #[test]
    fn rest_any_stands_for_the_methods_not_defined() {
        let a = api(
            Endpoint::Private,
            &[("ANY /x", Some(50_000)), ("GET /x", Some(10_000))],
        );
        let (l, _) = Limits::default().with_api_limits(&a);
        assert_eq!(at(&l, ApiKind::Rest, "GET /x").0, 10_000);
        assert_eq!(at(&l, ApiKind::Rest, "POST /x").0, 50_000);
        assert_eq!(at(&l, ApiKind::Rest, "DELETE /x").0, 50_000);
        // An HTTP API logs `ANY /x` as its route key.
        let h = api(Endpoint::Http, &[("ANY /x", Some(20_000))]);
        let (l, _) = Limits::default().with_api_limits(&h);
        assert_eq!(at(&l, ApiKind::Http, "ANY /x").0, 20_000);
        assert_eq!(at(&l, ApiKind::Http, "GET /x").0, 30_000);
    }
}
