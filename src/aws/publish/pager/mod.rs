//! The pager notifiers, beside SNS: PagerDuty Events API v2 ([`pagerduty::PagerDutyNotifier`])
//! and Opsgenie Alert API ([`opsgenie::OpsgenieNotifier`]). Each POSTs the body the render
//! layer made (`Rendered::pages`) over HTTPS, with timeouts and bounded retries, and adds
//! its key only then. Both are best effort: a failed page is logged and counted
//! (`NotifierFailures`), and never fails the invocation or loses the SNS alert.

pub mod opsgenie;
pub mod pagerduty;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::monitor::outputs::PublishError;

/// Attempts per page: a 429, a 5xx or a network error is tried again, twice.
pub const ATTEMPTS: u32 = 3;
/// Waits before the second and third attempts (the monitor bounds the whole send by
/// the invocation's deadline too).
const BACKOFF: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(800)];

/// The HTTPS client for the pagers: rustls on aws-lc-rs (as the SDK), 2 s to connect,
/// 5 s per attempt.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .user_agent(concat!("apigw-doctor/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Where a pager's key comes from.
pub enum KeySource {
    /// An SSM parameter (SecureString, read with decryption), by name or ARN; a Secrets
    /// Manager secret as `/aws/reference/secretsmanager/NAME`.
    Ssm {
        client: aws_sdk_ssm::Client,
        name: String,
    },
    /// A key given as is (tests).
    Fixed(String),
}

/// A pager's key, read once and cached for the container's life. It is never logged:
/// there is no `Debug`, and errors name the parameter, not the value.
pub struct Key {
    source: KeySource,
    cached: OnceLock<String>,
}

impl Key {
    pub fn new(source: KeySource) -> Arc<Key> {
        Arc::new(Key {
            source,
            cached: OnceLock::new(),
        })
    }

    /// The parameter the key is read from (`None`: given as is).
    pub fn parameter(&self) -> Option<&str> {
        match &self.source {
            KeySource::Ssm { name, .. } => Some(name),
            KeySource::Fixed(_) => None,
        }
    }

    /// The key: the cached one, else read now (and cached).
    pub async fn get(&self) -> Result<&str, String> {
        if let Some(k) = self.cached.get() {
            return Ok(k);
        }
        let value = match &self.source {
            KeySource::Fixed(k) => k.clone(),
            KeySource::Ssm { client, name } => crate::aws::secrets::parameter(client, name)
                .await
                .map_err(|e| e.to_string())?,
        };
        Ok(self.cached.get_or_init(|| value))
    }

    /// Reads the key at init, in the background, so that the first page does not wait
    /// for SSM; a failure is logged and the read is tried again at the first send.
    pub fn warm(self: &Arc<Key>) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let key = self.clone();
        rt.spawn(async move {
            if let Err(e) = key.get().await {
                tracing::warn!(error = %e, "could not read a pager key at init; it is read again at the first page");
            }
        });
    }
}

/// One POST, tried up to [`ATTEMPTS`] times: 2xx is sent; 429, 5xx and network errors
/// are tried again after a short wait; any other status is final.
pub(crate) async fn post(
    http: &reqwest::Client,
    notifier: &'static str,
    alert_id: &str,
    url: &str,
    authorization: Option<&str>,
    body: &serde_json::Value,
) -> Result<(), PublishError> {
    let fail = |message: String| PublishError::Alert {
        notifier,
        alert_id: alert_id.to_owned(),
        message,
    };
    let bytes = serde_json::to_vec(body).map_err(|e| fail(e.to_string()))?;
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(BACKOFF[(attempt as usize - 1).min(BACKOFF.len() - 1)]).await;
        }
        let mut req = http
            .post(url)
            .header("content-type", "application/json")
            .body(bytes.clone());
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        match req.send().await {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                last = format!(
                    "HTTP {status}: {}",
                    crate::logs::redact::redact(&text.replace(|c: char| c.is_control(), " "), 300)
                );
                if !(status.as_u16() == 429 || status.is_server_error()) {
                    break;
                }
            }
            // reqwest's error names the URL, never a header.
            Err(e) => last = super::sdk_message(&e),
        }
        tracing::info!(notifier, alert_id, attempt = attempt + 1, error = %last, "pager send failed");
    }
    Err(fail(last))
}
