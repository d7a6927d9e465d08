//! Opsgenie Alert API: the rendered create or close, with `Authorization: GenieKey KEY`
//! added at send time.

use std::sync::Arc;

use super::{post, Key};
use crate::monitor::outputs::{Notifier, OutputFuture};
use crate::render::alert::Rendered;

/// The API's base URL (`OPSGENIE_API_URL`); the EU instance is [`EU_API_URL`].
pub const DEFAULT_API_URL: &str = "https://api.opsgenie.com";
pub const EU_API_URL: &str = "https://api.eu.opsgenie.com";

pub struct OpsgenieNotifier {
    http: reqwest::Client,
    base_url: String,
    key: Arc<Key>,
}

impl OpsgenieNotifier {
    pub fn new(http: reqwest::Client, base_url: &str, key: Arc<Key>) -> OpsgenieNotifier {
        OpsgenieNotifier {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            key,
        }
    }
}

impl Notifier for OpsgenieNotifier {
    fn name(&self) -> &'static str {
        "opsgenie"
    }

    fn send<'a>(&'a self, alert: &'a Rendered) -> OutputFuture<'a, bool> {
        Box::pin(async move {
            // Not for a pager (the drift digest).
            let Some(pages) = &alert.pages else {
                return Ok(false);
            };
            let key = self.key.get().await.map_err(|message| {
                crate::monitor::outputs::PublishError::Alert {
                    notifier: "opsgenie",
                    alert_id: alert.id.clone(),
                    message,
                }
            })?;
            let r = &pages.opsgenie;
            let url = format!("{}{}", self.base_url, r.path);
            let auth = format!("GenieKey {key}");
            post(
                &self.http,
                "opsgenie",
                &alert.id,
                &url,
                Some(&auth),
                &r.body,
            )
            .await?;
            Ok(true)
        })
    }

    fn required(&self) -> bool {
        false
    }
}
