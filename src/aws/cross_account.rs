//! Another account's logs through a role there (`CROSS_ACCOUNT_EVIDENCE=role:NAME`):
//! STS `AssumeRole` into `arn:PARTITION:iam::ACCOUNT:role/NAME`, and a CloudWatch Logs
//! client built from the temporary credentials. The SDK side of
//! `monitor::accounts::AccountAccess`; the cache of accounts is the monitor's.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_sts::error::ProvideErrorMetadata;

use crate::aws::lookup::{partition, CloudWatchLookup};
use crate::model::diagnosis::{NoAccess, Via};
use crate::monitor::accounts::{
    AccountAccess, AssumeFuture, Assumed, CrossAccount, CrossAccountLookup,
};
use crate::monitor::lookup::LogLookup;

/// One assume, however long the lookups could still wait: STS answers in tens of ms, and
/// a hanging one must not take the lookups' whole time.
const ASSUME_MAX: Duration = Duration::from_secs(3);
/// The session asked for (the role's maximum is at least an hour).
const SESSION_SECONDS: i32 = 3600;
const SESSION_NAME: &str = "apigw-doctor-evidence";

/// [`AccountAccess`] through STS.
pub struct StsAccess {
    sts: aws_sdk_sts::Client,
    /// The lookups' SDK configuration (bounded retries), which each account's client reuses.
    logs_config: aws_config::SdkConfig,
    role_name: String,
}

impl StsAccess {
    pub fn new(
        shared: &aws_config::SdkConfig,
        logs_config: aws_config::SdkConfig,
        role_name: &str,
    ) -> Self {
        // One attempt within ASSUME_MAX: a refusal is final, a slow STS is a timeout.
        let sts_config = crate::aws::bounded_config(
            shared,
            2,
            Duration::from_secs(1),
            Duration::from_secs(2),
            ASSUME_MAX,
        );
        StsAccess {
            sts: aws_sdk_sts::Client::new(&sts_config),
            logs_config,
            role_name: role_name.to_owned(),
        }
    }

    pub fn role_arn(&self, account: &str) -> String {
        let region = self
            .logs_config
            .region()
            .map_or("us-east-1", |r| r.as_ref());
        format!(
            "arn:{}:iam::{account}:role/{}",
            partition(region),
            self.role_name
        )
    }
}

/// What an STS error means for the evidence: a refusal, a timeout, or another failure;
/// by the error code and the error's kind, never the message.
fn no_access<E: ProvideErrorMetadata>(
    e: &aws_sdk_sts::error::SdkError<E, impl std::fmt::Debug>,
) -> NoAccess {
    use aws_sdk_sts::error::SdkError;
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => NoAccess::TimedOut,
        _ => match e.code() {
            Some(c) if c.starts_with("AccessDenied") || c == "InvalidClientTokenId" => {
                NoAccess::Denied(Via::Role)
            }
            _ => NoAccess::AssumeFailed,
        },
    }
}

impl AccountAccess for Arc<StsAccess> {
    fn assume(&self, account: &str, until: Instant) -> AssumeFuture {
        let me = Arc::clone(self);
        let role_arn = self.role_arn(account);
        let account = account.to_owned();
        Box::pin(async move {
            let bound = until
                .saturating_duration_since(Instant::now())
                .min(ASSUME_MAX);
            let call = me
                .sts
                .assume_role()
                .role_arn(&role_arn)
                .role_session_name(SESSION_NAME)
                .duration_seconds(SESSION_SECONDS)
                .send();
            let out = match tokio::time::timeout(bound, call).await {
                Err(_) => Err(NoAccess::TimedOut),
                Ok(Err(e)) => {
                    let why = no_access(&e);
                    tracing::warn!(%account, %role_arn, ?why, error = %crate::aws::publish::sdk_message(&e), "could not assume the evidence role");
                    Err(why)
                }
                Ok(Ok(out)) => Ok(out),
            }?;
            let Some(c) = out.credentials() else {
                return Err(NoAccess::AssumeFailed);
            };
            let expiry =
                SystemTime::try_from(*c.expiration()).unwrap_or_else(|_| SystemTime::now());
            let creds = aws_sdk_cloudwatchlogs::config::Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_owned()),
                Some(expiry),
                "apigw-doctor-assume-role",
            );
            let config = aws_sdk_cloudwatchlogs::config::Builder::from(&me.logs_config)
                .credentials_provider(creds)
                .build();
            let left = expiry.duration_since(SystemTime::now()).unwrap_or_default();
            let lookup: Arc<dyn LogLookup> = Arc::new(CloudWatchLookup::new(
                aws_sdk_cloudwatchlogs::Client::from_conf(config),
            ));
            Ok(Assumed {
                lookup,
                expires: Instant::now() + left,
            })
        })
    }
}

/// The Lambda's lookup: this account's CloudWatch Logs, other accounts' as `mode` says.
pub fn evidence_lookup(shared: &aws_config::SdkConfig, mode: &CrossAccount) -> Arc<dyn LogLookup> {
    let logs_config = crate::aws::lookup::lookup_config(shared);
    let own: Arc<dyn LogLookup> = Arc::new(CloudWatchLookup::new(
        aws_sdk_cloudwatchlogs::Client::new(&logs_config),
    ));
    let access: Option<Arc<dyn AccountAccess>> = match mode {
        CrossAccount::Role(name) => Some(Arc::new(Arc::new(StsAccess::new(
            shared,
            logs_config,
            name,
        )))),
        CrossAccount::Off | CrossAccount::Oam => None,
    };
    Arc::new(CrossAccountLookup::new(own, mode.clone(), access))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_arn_names_the_account_and_partition() {
        let shared = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("cn-north-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let a = StsAccess::new(&shared, shared.clone(), "ops/apigw-doctor-evidence");
        assert_eq!(
            a.role_arn("111122223333"),
            "arn:aws-cn:iam::111122223333:role/ops/apigw-doctor-evidence"
        );
    }
}
