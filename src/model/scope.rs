//! Where a setting's override applies: `[ACCOUNT:]API[/STAGE[/ROUTE]]`, or `ACCOUNT:*`
//! for every API of one account. The same key form serves every per-scope setting (limits,
//! SLOs, API names), so that an organisation's accounts can differ (one account's raised
//! integration quota, another's stricter objective) with one rule for which one wins.

/// One override's scope, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `Some`: only requests from this account (the subscription's `owner`).
    pub account: Option<String>,
    /// `None`: every API (only with an account: `111122223333:*`).
    pub api_id: Option<String>,
    pub stage: Option<String>,
    /// As written (`POST /orders`), compared with the route as the logs give it.
    pub route: Option<String>,
}

/// How well a scope matches: more specific scopes rank higher. Compare with `>`.
pub type Rank = (u8, bool);

/// An AWS account id: twelve digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account in an ARN (`arn:aws:sns:us-east-1:123456789012:name`), when it is one.
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| is_account_id(a))
}

impl Scope {
    /// Parses a key; `None` when it is not of the form above (empty parts, a space in the
    /// API id, `*` without an account, an account that is not twelve digits).
    pub fn parse(key: &str) -> Option<Scope> {
        let key = key.trim();
        // A route holds `:` only after its method and a space (`GET /a:b`), never before
        // the first `/`: the account prefix is what precedes a `:` there.
        let head_end = key.find('/').unwrap_or(key.len());
        let (account, rest) = match key[..head_end].find(':') {
            Some(colon) => {
                let a = key[..colon].trim();
                if !is_account_id(a) {
                    return None;
                }
                (Some(a.to_owned()), &key[colon + 1..])
            }
            None => (None, key),
        };
        let rest = rest.trim();
        if rest == "*" {
            return account.map(|a| Scope {
                account: Some(a),
                api_id: None,
                stage: None,
                route: None,
            });
        }
        let mut parts = rest.splitn(3, '/').map(str::trim);
        let api_id = parts.next().unwrap_or_default();
        let (stage, route) = (parts.next(), parts.next());
        if api_id.is_empty() || api_id.contains(' ') || stage == Some("") || route == Some("") {
            return None;
        }
        Some(Scope {
            account,
            api_id: Some(api_id.to_owned()),
            stage: stage.map(str::to_owned),
            route: route.map(str::to_owned),
        })
    }

    /// How specifically this scope matches a request's place; `None`: it does not.
    /// Route over stage over API over account-wide; at each of those, the scope naming
    /// the account over the one that does not.
    pub fn rank(
        &self,
        account: Option<&str>,
        api_id: &str,
        stage: &str,
        route: &str,
    ) -> Option<Rank> {
        if self.account.as_deref().is_some_and(|a| Some(a) != account) {
            return None;
        }
        let level = match (&self.api_id, &self.stage, &self.route) {
            (None, _, _) => 0,
            (Some(a), _, _) if a != api_id => return None,
            (Some(_), None, _) => 1,
            (Some(_), Some(s), _) if s != stage => return None,
            (Some(_), Some(_), None) => 2,
            (Some(_), Some(_), Some(r)) if r != route => return None,
            (Some(_), Some(_), Some(_)) => 3,
        };
        Some((level, self.account.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_of_an_arn() {
        assert_eq!(
            arn_account("arn:aws:sns:us-east-1:123456789012:t"),
            Some("123456789012")
        );
        assert_eq!(arn_account("arn:aws:sns:us-east-1::t"), None);
    }

    fn s(k: &str) -> Scope {
        Scope::parse(k).unwrap_or_else(|| panic!("{k}"))
    }

    #[test]
    fn keys_with_and_without_an_account() {
        assert_eq!(s("abc").account, None);
        let k = s("111122223333:abc/prod/GET /a:b");
        assert_eq!(k.account.as_deref(), Some("111122223333"));
        assert_eq!(
            (k.api_id.as_deref(), k.stage.as_deref(), k.route.as_deref()),
            (Some("abc"), Some("prod"), Some("GET /a:b"))
        );
        assert_eq!(s("111122223333:*").api_id, None);
        for bad in [
            "*",
            "",
            "12345:abc",
            "abc//x",
            "a b",
            "111122223333:",
            "x:abc",
        ] {
            assert_eq!(Scope::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_most_specific_and_the_own_account_win() {
        let a = Some("111122223333");
        let r = |k: &str, account| s(k).rank(account, "abc", "prod", "GET /");
        assert_eq!(r("111122223333:*", a), Some((0, true)));
        assert_eq!(r("111122223333:*", Some("444455556666")), None);
        assert_eq!(r("111122223333:*", None), None);
        assert!(r("abc", a) > r("111122223333:*", a));
        assert!(r("111122223333:abc", a) > r("abc", a));
        assert!(r("abc/prod", a) > r("111122223333:abc", a));
        assert!(r("abc/prod/GET /", a) > r("111122223333:abc/prod", a));
        assert_eq!(r("abc/test", a), None);
        assert_eq!(r("xyz", a), None);
    }
}
