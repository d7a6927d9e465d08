//! Service level objectives as settings: a default objective every API stage is held to
//! (99.9 % of requests neither timed out nor 5XX over 30 days), and overrides for one
//! API, one stage or one route. A route with an override of its own is an SLO of its
//! own, out of its stage's; every other route counts toward its stage's SLO.
//!
//! Written as `99.9%/30d; abc123/prod=99.5%/7d; abc123/prod/GET /pets=99%`: entries
//! separated by `;`, the first without `=` the default (`off`: no default, only the
//! overrides), a missing period meaning the default's. A scope may name its account
//! (`111122223333:abc123/prod=99%`, `111122223333:*=99%`: see [`Scope`]).

use crate::engine::burn::Objective;
use crate::model::scope::{Rank, Scope};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// What one SLO holds to its objective: an API stage, or one route of it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SloKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub api_id: String,
    pub stage: String,
    /// `Some`: a route with an objective of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
}

impl SloKey {
    /// The key as one string, the same in every container and release.
    pub fn store_key(&self) -> String {
        let account = self.account.as_deref().unwrap_or("-");
        match &self.route {
            Some(r) => format!("{account}#{}#{}#{r}", self.api_id, self.stage),
            None => format!("{account}#{}#{}", self.api_id, self.stage),
        }
    }
}

/// Where an override applies: an API (every stage), a stage, or a route, each in every
/// account or in one (`111122223333:abc123/prod`); or every API of one account.
#[derive(Debug, Clone, PartialEq)]
pub struct SloOverride {
    pub scope: Scope,
    /// `None`: that scope has no SLO (`abc123/test=off`).
    pub objective: Option<Objective>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloSettings {
    /// What every API stage is held to (`None`: only the overrides).
    pub default: Option<Objective>,
    pub overrides: Vec<SloOverride>,
}

impl Default for SloSettings {
    fn default() -> Self {
        SloSettings {
            default: Some(Objective::default()),
            overrides: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SloError {
    #[error("objective {0:?}: expected a percentage below 100 such as 99.9%")]
    Target(String),
    #[error("period {0:?}: expected days or hours such as 30d or 12h")]
    Period(String),
    #[error(
        "override {0:?}: expected [ACCOUNT:]API[/STAGE[/ROUTE]]=OBJECTIVE or ACCOUNT:*=OBJECTIVE"
    )]
    Override(String),
}

impl SloSettings {
    /// Parses the setting's text (see the module's documentation).
    pub fn parse(text: &str) -> Result<SloSettings, SloError> {
        let mut out = SloSettings {
            default: None,
            overrides: Vec::new(),
        };
        let mut default_period = Objective::default().period_ms;
        for (i, entry) in text.split(';').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            match entry.rsplit_once('=') {
                None if i == 0 => {
                    out.default = objective(entry, default_period)?;
                    if let Some(o) = out.default {
                        default_period = o.period_ms;
                    }
                }
                None => return Err(SloError::Override(entry.to_owned())),
                Some((scope, obj)) => {
                    let scope =
                        Scope::parse(scope).ok_or_else(|| SloError::Override(entry.to_owned()))?;
                    out.overrides.push(SloOverride {
                        scope,
                        objective: objective(obj.trim(), default_period)?,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The SLO a route's requests count toward, and its objective (`None`: no SLO).
    pub fn slo_for(
        &self,
        account: Option<&str>,
        api_id: &str,
        stage: &str,
        route: &str,
    ) -> Option<(SloKey, Objective)> {
        // The most specific override wins: route, then stage, then API, then account;
        // of equally specific ones, the first written.
        let best = self
            .overrides
            .iter()
            .filter_map(|o| Some((o.scope.rank(account, api_id, stage, route)?, o)))
            .fold(
                None,
                |best: Option<(Rank, &SloOverride)>, (rank, o)| match best {
                    Some((b, _)) if b >= rank => best,
                    _ => Some((rank, o)),
                },
            )
            .map(|(_, o)| o);
        let (objective, own_route) = match best {
            Some(o) => (o.objective?, o.scope.route.is_some()),
            None => (self.default?, false),
        };
        let key = SloKey {
            account: account.map(str::to_owned),
            api_id: api_id.to_owned(),
            stage: stage.to_owned(),
            route: own_route.then(|| route.to_owned()),
        };
        Some((key, objective))
    }
}

impl SloSettings {
    /// The objective of an SLO as these settings hold it (`None`: it is no SLO here).
    pub fn objective_of(&self, slo: &SloKey) -> Option<Objective> {
        let route = slo.route.as_deref().unwrap_or("");
        let (key, o) = self.slo_for(slo.account.as_deref(), &slo.api_id, &slo.stage, route)?;
        (key.route == slo.route).then_some(o)
    }
}

/// `99.9%/30d`, `99.5%`, `off`.
fn objective(text: &str, default_period_ms: i64) -> Result<Option<Objective>, SloError> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let (target, period) = match text.split_once('/') {
        Some((t, p)) => (t.trim(), Some(p.trim())),
        None => (text.trim(), None),
    };
    let pct: f64 = target
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| SloError::Target(target.to_owned()))?;
    if !(pct > 0.0 && pct < 100.0) {
        return Err(SloError::Target(target.to_owned()));
    }
    let period_ms = match period {
        None => default_period_ms,
        Some(p) => period_ms(p).ok_or_else(|| SloError::Period(p.to_owned()))?,
    };
    Ok(Some(Objective {
        // Rounded so that `99.9%` is 0.999, as written (not 0.9990000000000001).
        target: (pct / 100.0 * 1e9).round() / 1e9,
        period_ms,
    }))
}

fn period_ms(p: &str) -> Option<i64> {
    let (n, unit) = p.split_at(p.len().checked_sub(1)?);
    let n: i64 = n
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=400 * 24).contains(n))?;
    let ms = match unit {
        "d" => n * DAY_MS,
        "h" => n * 3600 * 1000,
        _ => return None,
    };
    // At least a day: the burn-rate windows reach three days back.
    (DAY_MS..=400 * DAY_MS).contains(&ms).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_and_the_most_specific_override() {
        let s = SloSettings::parse(
            "99.9%/30d; abc/prod=99.5%/7d; abc/prod/GET /pets=99%; abc/test=off",
        )
        .unwrap();
        assert_eq!(s.default.unwrap().target, 0.999);
        let (k, o) = s.slo_for(Some("1"), "xyz", "prod", "GET /").unwrap();
        assert_eq!((k.route, o), (None, Objective::default()));
        let (k, o) = s.slo_for(None, "abc", "prod", "GET /").unwrap();
        assert_eq!(k.store_key(), "-#abc#prod");
        assert_eq!((o.target, o.period_ms), (0.995, 7 * DAY_MS));
        let (k, o) = s.slo_for(None, "abc", "prod", "GET /pets").unwrap();
        assert_eq!(k.store_key(), "-#abc#prod#GET /pets");
        assert_eq!((o.target, o.period_ms), (0.99, 30 * DAY_MS));
        assert_eq!(s.slo_for(None, "abc", "test", "GET /"), None);
    }

    #[test]
    fn accounts_hold_their_own_objectives() {
        let s = SloSettings::parse("99.9%; 111122223333:*=99%; 111122223333:abc/test=off").unwrap();
        let of = |account, api, stage| {
            s.slo_for(account, api, stage, "GET /")
                .map(|(_, o)| o.target)
        };
        assert_eq!(of(Some("111122223333"), "xyz", "prod"), Some(0.99));
        assert_eq!(of(Some("444455556666"), "xyz", "prod"), Some(0.999));
        assert_eq!(of(Some("111122223333"), "abc", "test"), None);
        assert_eq!(of(Some("444455556666"), "abc", "test"), Some(0.999));
        // Two accounts' identical API ids are two SLOs.
        let key = |a| {
            s.slo_for(Some(a), "abc", "prod", "GET /")
                .unwrap()
                .0
                .store_key()
        };
        assert_ne!(key("111122223333"), key("444455556666"));
    }

    #[test]
    fn off_keeps_only_the_overrides() {
        let s = SloSettings::parse("off; abc=99%/1d").unwrap();
        assert_eq!(s.slo_for(None, "xyz", "prod", "GET /"), None);
        assert!(s.slo_for(None, "abc", "prod", "GET /").is_some());
        assert_eq!(SloSettings::parse("").unwrap().default, None);
    }

    #[test]
    fn bad_settings_are_named() {
        assert_eq!(
            SloSettings::parse("100%"),
            Err(SloError::Target("100%".into()))
        );
        assert_eq!(
            SloSettings::parse("99.9%/30x"),
            Err(SloError::Period("30x".into()))
        );
        assert_eq!(
            SloSettings::parse("99.9%/2h"),
            Err(SloError::Period("2h".into()))
        );
        assert!(matches!(
            SloSettings::parse("99.9%; 99%"),
            Err(SloError::Override(_))
        ));
        assert!(matches!(
            SloSettings::parse("99.9%; abc//x=99%"),
            Err(SloError::Override(_))
        ));
    }
}
