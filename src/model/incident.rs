//! What an incident is about, as the key every container agrees on.

use crate::model::backend::Backend;
use crate::model::finding::Finding;
use crate::model::kind::Kind;

/// What an incident is about: (account, API, stage, backend, kind).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct IncidentKey {
    /// The account whose logs showed it, when they say (two accounts may both have a
    /// `prod` stage behind the same kind of backend).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub api_id: String,
    pub stage: String,
    /// `lambda:NAME`, `aws:SERVICE`, `http:URL`; `None` when the logs do not say.
    pub backend: Option<String>,
    pub kind: Kind,
}

impl IncidentKey {
    pub fn of(f: &Finding) -> IncidentKey {
        let backend = match (&f.backend, &f.function) {
            (Some(b), _) => Some(backend_key(b)),
            (None, Some(func)) => Some(format!("lambda:{}", func.name)),
            (None, None) => None,
        };
        IncidentKey {
            account: f.provenance.account.as_deref().map(str::to_owned),
            api_id: f.api_id.clone(),
            stage: f.stage.clone(),
            backend,
            kind: f.kind,
        }
    }

    /// The key as one string: the state store's sort key, the same in every container
    /// and release. Without an account it is the key of releases before accounts.
    pub fn store_key(&self) -> String {
        let account = self
            .account
            .as_deref()
            .map(|a| format!("{a}#"))
            .unwrap_or_default();
        format!(
            "incident#{account}{}#{}#{}#{}",
            self.api_id,
            self.stage,
            self.kind.as_str(),
            self.backend.as_deref().unwrap_or("-")
        )
    }
}

/// FNV-1a, 64 bits: the stable hash of ids (incidents, budget notices, alerts, batches),
/// the same in every container and release.
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A Lambda function's identity is its name (an alias or version is the same backend).
fn backend_key(b: &Backend) -> String {
    match b {
        Backend::Lambda { function_name, .. } => format!("lambda:{function_name}"),
        Backend::AwsService { service, .. } => format!("aws:{service}"),
        Backend::Http { url } | Backend::PrivateHttp { url, .. } => format!("http:{url}"),
    }
}
