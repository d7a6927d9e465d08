//! The state ports (`monitor::state`) in a DynamoDB table (`INCIDENTS_TABLE`).
//!
//! Table layout (partition key `pk`, sort key `sk`, both strings):
//! - open incidents: `pk = "incident"`, `sk =` [`IncidentKey::store_key`], so that the
//!   schedule reads them all with one Query; `body` holds the [`Incident`] as JSON,
//!   `version` the optimistic-concurrency version, `expires_at` the TTL;
//! - batch claims: `pk = "batch#<key>"`, `sk = "claim"`, with `status`
//!   (`processing` or `done`), `claimed_at` and `expires_at`;
//! - configuration changes (`aws::change_store`): `pk = "change#<account>"`,
//!   `sk = "<event time, 13-digit epoch ms>#<event id>"`, `body`, `expires_at`;
//! - halves of split requests: `pk = "pair#<request id>"`, `sk = "pair"`, with `start`
//!   and `end` (each a partial request as JSON, written once), `first` (which half came
//!   first), `counted` (the end was counted where it arrived) and `expires_at`. See
//!   [`SplitHalves::join_half`] and `monitor::join`.
//!
//! [`IncidentKey::store_key`]: crate::model::incident::IncidentKey::store_key

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::publish::sdk_message;
use crate::engine::incidents::Incident;
use crate::monitor::state::{
    completes, BatchClaims, Half, IncidentStore, SplitHalves, StateError, StateFuture,
    CLAIM_STALE_MS, CLAIM_TTL_SECS, PAIR_TTL_SECS,
};

/// Partition of the open incidents.
const INCIDENTS_PK: &str = "incident";
/// Resolved incidents are deleted; an open one that nobody touches expires after this
/// (a safety net: the schedule resolves it long before).
pub const INCIDENT_TTL_SECS: i64 = 7 * 24 * 3600;

/// The state in a DynamoDB table (`INCIDENTS_TABLE`).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Whether an SDK error is a failed condition (someone else wrote first).
pub(crate) fn is_condition_failed<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|se| se.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub(crate) fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub(crate) fn err<E: std::error::Error>(&self, op: &'static str, e: &E) -> StateError {
        StateError::Dynamo {
            op,
            table: self.table.clone(),
            message: sdk_message(e),
        }
    }

    /// Every item of one partition whose sort key is in `[from, to]` (`None`: all; a key
    /// condition may not hold an empty string).
    pub(crate) async fn query_range(
        &self,
        pk: &str,
        range: Option<(&str, &str)>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StateError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client()
                .query()
                .table_name(self.table())
                .expression_attribute_values(":pk", s(pk));
            q = match range {
                Some((from, to)) => q
                    .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                    .expression_attribute_values(":from", s(from))
                    .expression_attribute_values(":to", s(to)),
                None => q.key_condition_expression("pk = :pk"),
            };
            let page = q
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.err("Query", &e))?;
            out.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }

    /// Sends `req` (a PutItem) only over the stored `expected` version (0: only where no
    /// item is); `false`: another container wrote first.
    pub(crate) async fn put_over_version(
        &self,
        req: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
        expected: u64,
    ) -> Result<bool, StateError> {
        let req = if expected == 0 {
            req.condition_expression("attribute_not_exists(pk)")
        } else {
            req.condition_expression("version = :v")
                .expression_attribute_values(":v", n(expected as i64))
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(self.err("PutItem", &e)),
        }
    }

    /// Deletes the item (`pk`, `sk`) if it is still at `version`.
    pub(crate) async fn delete_at_version(
        &self,
        pk: &str,
        sk: &str,
        version: u64,
    ) -> Result<bool, StateError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(version as i64))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(self.err("DeleteItem", &e)),
        }
    }

    fn decode(&self, item: &HashMap<String, AttributeValue>) -> Result<Incident, StateError> {
        let key = item
            .get("sk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        let corrupt = |message: String| StateError::Corrupt {
            table: self.table.clone(),
            key: key.clone(),
            message,
        };
        let body = item
            .get("body")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| corrupt("no `body` string".into()))?;
        let mut incident: Incident =
            serde_json::from_str(body).map_err(|e| corrupt(e.to_string()))?;
        // The `version` attribute is what conditions compare; it wins over the body's copy.
        if let Some(v) = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
        {
            incident.version = v;
        }
        Ok(incident)
    }
}

impl IncidentStore for DynamoStore {
    fn get<'a>(&'a self, store_key: &'a str) -> StateFuture<'a, Option<Incident>> {
        Box::pin(async move {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", s(INCIDENTS_PK))
                .key("sk", s(store_key))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| self.err("GetItem", &e))?;
            out.item().map(|i| self.decode(i)).transpose()
        })
    }

    fn put<'a>(&'a self, next: &'a Incident, expected: u64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let body = serde_json::to_string(next).map_err(|e| StateError::Corrupt {
                table: self.table.clone(),
                key: next.key.store_key(),
                message: e.to_string(),
            })?;
            let expires = next.last_activity / 1000 + INCIDENT_TTL_SECS;
            let req = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(INCIDENTS_PK))
                .item("sk", s(next.key.store_key()))
                .item("version", n(next.version as i64))
                .item("incident_id", s(&next.id))
                .item("body", s(body))
                .item("expires_at", n(expires));
            self.put_over_version(req, expected).await
        })
    }

    fn remove<'a>(&'a self, store_key: &'a str, version: u64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            self.delete_at_version(INCIDENTS_PK, store_key, version)
                .await
        })
    }

    fn open<'a>(&'a self) -> StateFuture<'a, Vec<Incident>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let mut start: Option<HashMap<String, AttributeValue>> = None;
            loop {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", s(INCIDENTS_PK))
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| self.err("Query", &e))?;
                for item in page.items() {
                    match self.decode(item) {
                        Ok(i) => out.push(i),
                        // One unreadable item must not stop the others from resolving.
                        Err(e) => tracing::warn!(error = %e, "skipped an unreadable incident item"),
                    }
                }
                match page.last_evaluated_key() {
                    Some(k) if !k.is_empty() => start = Some(k.clone()),
                    _ => break,
                }
            }
            Ok(out)
        })
    }
}

impl BatchClaims for DynamoStore {
    fn claim_batch<'a>(&'a self, batch_key: &'a str, now: i64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let res = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(format!("batch#{batch_key}")))
                .item("sk", s("claim"))
                .item("status", s("processing"))
                .item("claimed_at", n(now))
                .item("expires_at", n(now / 1000 + CLAIM_TTL_SECS))
                .condition_expression(
                    "attribute_not_exists(pk) OR (#st = :processing AND claimed_at < :stale)",
                )
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":processing", s("processing"))
                .expression_attribute_values(":stale", n(now - CLAIM_STALE_MS))
                .send()
                .await;
            match res {
                Ok(_) => Ok(true),
                Err(e) if is_condition_failed(&e) => Ok(false),
                Err(e) => Err(self.err("PutItem (batch claim)", &e)),
            }
        })
    }

    fn finish_batch<'a>(&'a self, batch_key: &'a str, ok: bool, now: i64) -> StateFuture<'a, ()> {
        Box::pin(async move {
            let key = s(format!("batch#{batch_key}"));
            if ok {
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", key)
                    .key("sk", s("claim"))
                    .update_expression("SET #st = :done, claimed_at = :now")
                    .expression_attribute_names("#st", "status")
                    .expression_attribute_values(":done", s("done"))
                    .expression_attribute_values(":now", n(now))
                    .send()
                    .await
                    .map_err(|e| self.err("UpdateItem (batch done)", &e))?;
            } else {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .key("pk", key)
                    .key("sk", s("claim"))
                    .send()
                    .await
                    .map_err(|e| self.err("DeleteItem (batch claim)", &e))?;
            }
            Ok(())
        })
    }
}

impl SplitHalves for DynamoStore {
    fn join_half<'a>(
        &'a self,
        request_id: &'a str,
        half: Half,
        body: &'a str,
        counted: bool,
        now: i64,
    ) -> StateFuture<'a, Option<String>> {
        Box::pin(async move {
            // One UpdateItem: the half and `first` only if absent, and the item as it was
            // before, from which [`completes`] decides (the write and the read are atomic).
            let mut expr =
                "SET #h = if_not_exists(#h, :body), #first = if_not_exists(#first, :half), expires_at = :exp"
                    .to_owned();
            if counted {
                expr.push_str(", #counted = :yes");
            }
            let mut req = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(format!("pair#{request_id}")))
                .key("sk", s("pair"))
                .update_expression(expr)
                .expression_attribute_names("#h", half.as_str())
                .expression_attribute_names("#first", "first")
                .expression_attribute_values(":body", s(body))
                .expression_attribute_values(":half", s(half.as_str()))
                .expression_attribute_values(":exp", n(now / 1000 + PAIR_TTL_SECS))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld);
            if counted {
                req = req
                    .expression_attribute_names("#counted", "counted")
                    .expression_attribute_values(":yes", AttributeValue::Bool(true));
            }
            let out = req
                .send()
                .await
                .map_err(|e| self.err("UpdateItem (split request)", &e))?;
            let old = out.attributes();
            let text = |k: &str| {
                old.and_then(|o| o.get(k))
                    .and_then(|v| v.as_s().ok())
                    .cloned()
            };
            let first = text("first").as_deref().and_then(Half::parse);
            let counted_before = old
                .and_then(|o| o.get("counted"))
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false);
            Ok(completes(
                half,
                first,
                text(half.other().as_str()),
                counted_before,
            ))
        })
    }
}

/// The DynamoDB store with short timeouts: a failing table must leave the invocation
/// time to send the alert anyway (two attempts, each bounded).
pub fn dynamo_store(shared: &aws_config::SdkConfig, table: &str) -> DynamoStore {
    use std::time::Duration;
    let shared = crate::aws::bounded_config(
        shared,
        2,
        Duration::from_secs(1),
        Duration::from_secs(2),
        Duration::from_secs(5),
    );
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&shared), table)
}
