//! [`ChangeStore`] in the state table: one item per CloudTrail event, partitioned by
//! account (`pk = "change#<account>"`, `sk = "<13-digit epoch ms>#<event id>"`), so that
//! one Query reads an account's changes in a time range, newest first. The same event
//! delivered twice writes the same item: idempotent without a condition. Items expire
//! after [`CHANGE_TTL_SECS`]; a body is one change's facts (a few hundred bytes).

use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::state::{n, s, DynamoStore};
use crate::model::change::Change;
use crate::monitor::changes::{ChangeStore, CHANGE_TTL_SECS};
use crate::monitor::state::{StateError, StateFuture};

fn pk(account: Option<&str>) -> String {
    format!("change#{}", account.unwrap_or("-"))
}

/// The sort key: zero-padded so that text order is time order.
fn sk(time: i64, event_id: &str) -> String {
    format!("{:013}#{event_id}", time.max(0))
}

impl ChangeStore for DynamoStore {
    fn put_change<'a>(&'a self, change: &'a Change, now: i64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let body = serde_json::to_string(change).map_err(|e| StateError::Corrupt {
                table: self.table().to_owned(),
                key: change.event_id.clone(),
                message: e.to_string(),
            })?;
            let res = self
                .client()
                .put_item()
                .table_name(self.table())
                .item("pk", s(pk(change.account.as_deref())))
                .item("sk", s(sk(change.event_time, &change.event_id)))
                .item("body", s(body))
                .item("expires_at", n(now / 1000 + CHANGE_TTL_SECS))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                .send()
                .await
                .map_err(|e| self.err("PutItem", &e))?;
            Ok(res.attributes().is_none_or(|a| a.is_empty()))
        })
    }

    fn changes<'a>(
        &'a self,
        account: Option<&'a str>,
        from: i64,
        to: i64,
        max: usize,
    ) -> StateFuture<'a, Vec<Change>> {
        Box::pin(async move {
            let page = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(pk(account)))
                .expression_attribute_values(":from", s(sk(from, "")))
                // '~' sorts after every event id character.
                .expression_attribute_values(":to", s(sk(to, "~")))
                .scan_index_forward(false)
                .limit(max.clamp(1, 1000) as i32)
                .send()
                .await
                .map_err(|e| self.err("Query", &e))?;
            let mut out: Vec<Change> = page
                .items()
                .iter()
                .filter_map(|item| match item.get("body") {
                    Some(AttributeValue::S(b)) => match serde_json::from_str(b) {
                        Ok(c) => Some(c),
                        Err(e) => {
                            tracing::warn!(error = %e, "skipped an unreadable change item");
                            None
                        }
                    },
                    _ => None,
                })
                .collect();
            out.reverse();
            Ok(out)
        })
    }
}
