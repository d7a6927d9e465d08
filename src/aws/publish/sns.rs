//! SNS Publish with `MessageStructure=json`: one message, a rendering per protocol.

use super::{sdk_message, PublishError};
use crate::render::alert::Rendered;

pub async fn publish(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    alert: &Rendered,
) -> Result<(), PublishError> {
    client
        .publish()
        .topic_arn(topic_arn)
        .subject(&alert.subject)
        .message(&alert.message)
        .message_structure("json")
        .send()
        .await
        .map_err(|e| PublishError::Alert {
            alert_id: alert.id.clone(),
            message: sdk_message(&e),
        })?;
    Ok(())
}
