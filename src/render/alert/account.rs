//! Which account an alert is about, in words and links: the account's name, the API's
//! name within it, and console links that open in that account. An organisation's
//! central doctor alerts on many accounts' APIs; a console link is only right when it
//! opens signed in to the account whose resource it names.

use super::{AlertContext, Link};

/// IAM Identity Center's access portal: console links go through its shortcut form
/// (`<portal>/#/console?account_id=…&role_name=…&destination=…`), which signs the reader
/// in to the incident's account before opening the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsolePortal {
    /// `https://my-org.awsapps.com/start`.
    pub url: String,
    /// The permission set to open the console with; `None`: the reader picks one.
    pub role_name: Option<String>,
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl AlertContext {
    /// The API's friendly name: the account's own (`111122223333:abc123=…`) first.
    pub fn api_name(&self, account: Option<&str>, api_id: &str) -> Option<&String> {
        account
            .and_then(|a| self.api_names.get(&format!("{a}:{api_id}")))
            .or_else(|| self.api_names.get(api_id))
    }

    /// `payments-prod (111122223333)` with a name from `ACCOUNT_NAMES`, else the id.
    pub fn account_label(&self, account: &str) -> String {
        match self.account_names.get(account) {
            Some(name) => format!("{name} ({account})"),
            None => account.to_owned(),
        }
    }

    /// The short form for subjects: the name alone when there is one.
    pub fn account_short(&self, account: &str) -> String {
        self.account_names
            .get(account)
            .cloned()
            .unwrap_or_else(|| account.to_owned())
    }

    /// The account the alert is about when it is not the doctor's own: the one a reader
    /// must be told about (subjects, links). `None` when it is the same, or when either
    /// is not known (a single-account doctor's alerts stay as they were).
    pub fn foreign_account(&self) -> Option<&str> {
        self.foreign(self.account.as_deref())
    }

    fn foreign<'a>(&self, account: Option<&'a str>) -> Option<&'a str> {
        let (a, home) = (account?, self.home_account.as_deref()?);
        (home != a).then_some(a)
    }

    /// A console link for the alert's account: see [`AlertContext::console_link_in`].
    pub fn console_link(&self, href: String, text: String) -> Link {
        self.console_link_in(self.account.as_deref(), href, text)
    }

    /// A console link for a resource of `account`: through the access portal when one
    /// is set; else as it is, its text saying which account to be signed in to when that
    /// is not the doctor's own.
    pub fn console_link_in(&self, account: Option<&str>, href: String, text: String) -> Link {
        match (&self.console_portal, account) {
            (Some(p), Some(account)) => {
                let role = p
                    .role_name
                    .as_deref()
                    .map(|r| format!("&role_name={}", enc(r)))
                    .unwrap_or_default();
                Link {
                    href: format!(
                        "{}/#/console?account_id={account}{role}&destination={}",
                        p.url.trim_end_matches('/'),
                        enc(&href)
                    ),
                    text,
                }
            }
            _ => match self.foreign(account) {
                Some(a) => Link {
                    href,
                    text: format!(
                        "{text} (in account {}: sign in to it first)",
                        self.account_label(a)
                    ),
                },
                None => Link { href, text },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(account: &str) -> AlertContext {
        AlertContext {
            account: Some(account.into()),
            home_account: Some("999999999999".into()),
            account_names: [("111122223333".to_owned(), "payments-prod".to_owned())].into(),
            api_names: [
                ("abc".to_owned(), "Orders".to_owned()),
                ("111122223333:abc".to_owned(), "Payments".to_owned()),
            ]
            .into(),
            ..AlertContext::default()
        }
    }

    #[test]
    fn names_are_the_accounts_own() {
        let c = ctx("111122223333");
        assert_eq!(c.api_name(Some("111122223333"), "abc").unwrap(), "Payments");
        assert_eq!(c.api_name(Some("444455556666"), "abc").unwrap(), "Orders");
        assert_eq!(c.api_name(None, "abc").unwrap(), "Orders");
        assert_eq!(
            c.account_label("111122223333"),
            "payments-prod (111122223333)"
        );
        assert_eq!(c.account_label("444455556666"), "444455556666");
    }

    #[test]
    fn links_open_in_the_incidents_account() {
        let href =
            "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/f"
                .to_owned();
        let mut c = ctx("111122223333");
        let l = c.console_link(href.clone(), "Lambda".into());
        assert_eq!(
            (l.href.as_str(), l.text.as_str()),
            (
                href.as_str(),
                "Lambda (in account payments-prod (111122223333): sign in to it first)"
            )
        );
        c.account = c.home_account.clone();
        assert_eq!(c.console_link(href.clone(), "Lambda".into()).text, "Lambda");
        c.account = Some("111122223333".into());
        c.console_portal = Some(ConsolePortal {
            url: "https://my-org.awsapps.com/start/".into(),
            role_name: Some("ReadOnly".into()),
        });
        let l = c.console_link(href, "Lambda".into());
        assert_eq!(l.text, "Lambda");
        assert_eq!(
            l.href,
            "https://my-org.awsapps.com/start/#/console?account_id=111122223333&role_name=ReadOnly&destination=https%3A%2F%2Fus%2Deast%2D1%2Econsole%2Eaws%2Eamazon%2Ecom%2Flambda%2Fhome%3Fregion%3Dus%2Deast%2D1%23%2Ffunctions%2Ff"
        );
    }
}
