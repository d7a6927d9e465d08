//! SNS Publish with `MessageStructure=json`: one message, a rendering per protocol.

use super::sdk_message;
use crate::monitor::outputs::{Notifier, OutputFuture, PublishError};
use crate::render::alert::Rendered;

/// The alert channel of record: the stack's SNS topic (e-mail, Chatbot, automation).
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> SnsNotifier {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl Notifier for SnsNotifier {
    fn name(&self) -> &'static str {
        "sns"
    }

    fn send<'a>(&'a self, alert: &'a Rendered) -> OutputFuture<'a, bool> {
        Box::pin(async move {
            self.client
                .publish()
                .topic_arn(&self.topic_arn)
                .subject(&alert.subject)
                .message(&alert.message)
                .message_structure("json")
                .send()
                .await
                .map_err(|e| PublishError::Alert {
                    notifier: "sns",
                    alert_id: alert.id.clone(),
                    message: sdk_message(&e),
                })?;
            Ok(true)
        })
    }
}
