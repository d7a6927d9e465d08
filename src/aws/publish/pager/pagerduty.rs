//! PagerDuty Events API v2: the rendered event, its `routing_key` put in at send time.

use std::sync::Arc;

use super::{post, Key};
use crate::monitor::outputs::{Notifier, OutputFuture};
use crate::render::alert::Rendered;

/// The Events API's endpoint (`PAGERDUTY_EVENTS_URL`).
pub const DEFAULT_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

pub struct PagerDutyNotifier {
    http: reqwest::Client,
    url: String,
    key: Arc<Key>,
}

impl PagerDutyNotifier {
    pub fn new(http: reqwest::Client, url: impl Into<String>, key: Arc<Key>) -> PagerDutyNotifier {
        PagerDutyNotifier {
            http,
            url: url.into(),
            key,
        }
    }
}

impl Notifier for PagerDutyNotifier {
    fn name(&self) -> &'static str {
        "pagerduty"
    }

    fn send<'a>(&'a self, alert: &'a Rendered) -> OutputFuture<'a, bool> {
        Box::pin(async move {
            // Not for a pager (the drift digest).
            let Some(pages) = &alert.pages else {
                return Ok(false);
            };
            let key = self.key.get().await.map_err(|message| {
                crate::monitor::outputs::PublishError::Alert {
                    notifier: "pagerduty",
                    alert_id: alert.id.clone(),
                    message,
                }
            })?;
            let mut body = pages.pagerduty.clone();
            body["routing_key"] = serde_json::Value::String(key.to_owned());
            post(&self.http, "pagerduty", &alert.id, &self.url, None, &body).await?;
            Ok(true)
        })
    }

    fn required(&self) -> bool {
        false
    }
}
