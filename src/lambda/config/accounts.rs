//! The settings about accounts, for a doctor watching several (an organisation's central
//! account): their names, whether metrics are told apart by account, and where console
//! links sign in.

use std::collections::BTreeMap;

use super::{parse_bool, ConfigError};
use crate::model::scope::is_account_id;
use crate::render::alert::ConsolePortal;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountSettings {
    /// `ACCOUNT_NAMES`: friendly names by account id.
    pub names: BTreeMap<String, String>,
    /// `METRICS_ACCOUNT_DIMENSION`: route series carry `Account`.
    pub metrics_dimension: bool,
    /// `CONSOLE_PORTAL_URL` and `CONSOLE_ROLE_NAME`.
    pub console_portal: Option<ConsolePortal>,
}

impl AccountSettings {
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let names = match var("ACCOUNT_NAMES") {
            Some(v) => parse_account_names(&v).ok_or_else(|| ConfigError {
                variable: "ACCOUNT_NAMES",
                value: v.clone(),
                expected: "comma-separated ACCOUNT_ID=Name pairs with 12-digit ids, e.g. 111122223333=payments-prod".into(),
            })?,
            None => BTreeMap::new(),
        };
        let metrics_dimension = parse_bool(
            "METRICS_ACCOUNT_DIMENSION",
            &var("METRICS_ACCOUNT_DIMENSION").unwrap_or_default(),
        )?;
        let role_name = var("CONSOLE_ROLE_NAME")
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if let Some(r) = &role_name {
            // A permission set's or role's name: letters, digits and +=,.@_- (IAM's rule).
            if r.len() > 64
                || !r
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
            {
                return Err(ConfigError {
                    variable: "CONSOLE_ROLE_NAME",
                    value: r.clone(),
                    expected: "a permission set name (letters, digits and +=,.@_-, at most 64)"
                        .into(),
                });
            }
        }
        let console_portal =
            match var("CONSOLE_PORTAL_URL").map(|u| u.trim().to_owned()) {
                None => None,
                Some(u) if u.is_empty() => None,
                Some(u) if u.starts_with("https://") && !u.contains(['#', '?', ' ']) => {
                    Some(ConsolePortal { url: u, role_name })
                }
                Some(u) => return Err(ConfigError {
                    variable: "CONSOLE_PORTAL_URL",
                    value: u,
                    expected:
                        "the AWS access portal's https URL, e.g. https://my-org.awsapps.com/start"
                            .into(),
                }),
            };
        Ok(AccountSettings {
            names,
            metrics_dimension,
            console_portal,
        })
    }
}

/// `111122223333=payments-prod,444455556666=search` → names by id.
fn parse_account_names(v: &str) -> Option<BTreeMap<String, String>> {
    v.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (id, name) = p.split_once('=')?;
            let (id, name) = (id.trim(), name.trim());
            (is_account_id(id) && !name.is_empty()).then(|| (id.to_owned(), name.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(pairs: &[(&str, &str)]) -> Result<AccountSettings, ConfigError> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AccountSettings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(of(&[]).unwrap(), AccountSettings::default());
        let s = of(&[
            (
                "ACCOUNT_NAMES",
                "111122223333=payments-prod, 444455556666=search",
            ),
            ("METRICS_ACCOUNT_DIMENSION", "on"),
            ("CONSOLE_PORTAL_URL", "https://my-org.awsapps.com/start"),
            ("CONSOLE_ROLE_NAME", "ReadOnly"),
        ])
        .unwrap();
        assert_eq!(s.names["444455556666"], "search");
        assert!(s.metrics_dimension);
        assert_eq!(
            s.console_portal.unwrap().role_name.as_deref(),
            Some("ReadOnly")
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (k, v) in [
            ("ACCOUNT_NAMES", "1234=x"),
            ("METRICS_ACCOUNT_DIMENSION", "maybe"),
            ("CONSOLE_PORTAL_URL", "http://my-org.awsapps.com/start"),
            ("CONSOLE_ROLE_NAME", "Read Only"),
        ] {
            assert_eq!(of(&[(k, v)]).unwrap_err().variable, k);
        }
    }
}
