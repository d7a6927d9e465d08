//! The pagers' keys from SSM Parameter Store: GetParameter with decryption, so that a
//! SecureString's value never sits in an environment variable. A Secrets Manager
//! secret is read the same way, as `/aws/reference/secretsmanager/NAME`.

/// A parameter that could not be read (the message names it, never its value).
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("SSM GetParameter {name} failed: {message}")]
    Read { name: String, message: String },
    #[error("SSM parameter {0} has no value")]
    Empty(String),
}

/// The SSM client for the keys: the outputs' bounded retries and timeouts.
pub fn ssm_client(shared: &aws_config::SdkConfig) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&crate::aws::publish::output_config(shared))
}

/// The value of parameter `name` (a name or an ARN), decrypted.
pub async fn parameter(client: &aws_sdk_ssm::Client, name: &str) -> Result<String, SecretError> {
    let out = client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| SecretError::Read {
            name: name.to_owned(),
            message: crate::aws::publish::sdk_message(&e),
        })?;
    out.parameter
        .and_then(|p| p.value)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| SecretError::Empty(name.to_owned()))
}
