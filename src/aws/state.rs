//! Incident state shared by every container of the function, and the claims that
//! keep a redelivered batch from being handled twice.
//!
//! [`StateStore`] is the small trait; [`MemoryStore`] keeps the state in this process
//! (no `INCIDENTS_TABLE`: the CLI, `dry-run`, tests), [`DynamoStore`] in a DynamoDB
//! table with conditional writes, so that when two containers see the first timeout
//! of an incident at once, exactly one writes the incident and sends `firing`.
//!
//! Table layout (partition key `pk`, sort key `sk`, both strings):
//! - open incidents: `pk = "incident"`, `sk =` [`IncidentKey::store_key`], so that the
//!   schedule reads them all with one Query; `body` holds the [`Incident`] as JSON,
//!   `version` the optimistic-concurrency version, `expires_at` the TTL;
//! - batch claims: `pk = "batch#<key>"`, `sk = "claim"`, with `status`
//!   (`processing` or `done`), `claimed_at` and `expires_at`;
//! - halves of split requests: `pk = "pair#<request id>"`, `sk = "pair"`, with `start`
//!   and `end` (each a partial request as JSON, written once), `first` (which half came
//!   first), `counted` (the end was counted where it arrived) and `expires_at`. See
//!   [`StateStore::join_half`] and `lambda::join`.
//!
//! [`IncidentKey::store_key`]: crate::model::incident::IncidentKey::store_key

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::publish::sdk_message;
use crate::engine::incidents::Incident;

/// Partition of the open incidents.
const INCIDENTS_PK: &str = "incident";
/// A claim older than this while still `processing` was left by an invocation that
/// died (the function's timeout is 60 s): Lambda's retry, a minute or more later, may
/// take the batch over.
pub const CLAIM_STALE_MS: i64 = 90 * 1000;
/// How long a handled batch is remembered (CloudWatch Logs and Lambda retry within hours).
pub const CLAIM_TTL_SECS: i64 = 24 * 3600;
/// Resolved incidents are deleted; an open one that nobody touches expires after this
/// (a safety net: the schedule resolves it long before).
pub const INCIDENT_TTL_SECS: i64 = 7 * 24 * 3600;
/// A half of a split request waits this long for the other (a request lasts at most
/// the 29 s limit, or 300 s raised; deliveries lag by minutes at worst).
pub const PAIR_TTL_SECS: i64 = 3600;

/// One half of a request whose lines arrived in two batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    /// Its beginning (method, route, backend), still waiting for its end.
    Start,
    /// Its end (status, latency, failure), without its beginning.
    End,
}

impl Half {
    pub fn as_str(self) -> &'static str {
        match self {
            Half::Start => "start",
            Half::End => "end",
        }
    }
    fn other(self) -> Half {
        match self {
            Half::Start => Half::End,
            Half::End => Half::Start,
        }
    }
    fn parse(s: &str) -> Option<Half> {
        match s {
            "start" => Some(Half::Start),
            "end" => Some(Half::End),
            _ => None,
        }
    }
}

/// The rule of [`StateStore::join_half`], on what the item held before the write:
/// the second half to arrive counts the request, unless the first was an end already
/// counted where it arrived. A retry of the second writer's batch decides the same.
fn completes(
    half: Half,
    first: Option<Half>,
    other: Option<String>,
    counted: bool,
) -> Option<String> {
    if first == Some(half.other()) && !counted {
        other
    } else {
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("DynamoDB {op} on {table} failed: {message}")]
    Dynamo {
        op: &'static str,
        table: String,
        message: String,
    },
    #[error("incident item {key} in {table} is unreadable: {message}")]
    Corrupt {
        table: String,
        key: String,
        message: String,
    },
}

/// What the incident lifecycle needs from a store. Every write is conditional:
/// `false` means another container wrote first (read again and retry).
pub trait StateStore {
    /// The open incident on `store_key`.
    fn get(&self, store_key: &str) -> impl Future<Output = Result<Option<Incident>, StateError>>;
    /// Writes `next` if the stored version is `expected` (0: no incident stored).
    fn put(&self, next: &Incident, expected: u64)
        -> impl Future<Output = Result<bool, StateError>>;
    /// Deletes the incident if it is still at `version`.
    fn remove(
        &self,
        store_key: &str,
        version: u64,
    ) -> impl Future<Output = Result<bool, StateError>>;
    /// Every open incident.
    fn open(&self) -> impl Future<Output = Result<Vec<Incident>, StateError>>;
    /// Claims a batch for this container; `false`: it was handled, or is being handled.
    fn claim_batch(
        &self,
        batch_key: &str,
        now: i64,
    ) -> impl Future<Output = Result<bool, StateError>>;
    /// Marks the claim done (`ok`), or gives it back so that a retry may take it.
    fn finish_batch(
        &self,
        batch_key: &str,
        ok: bool,
        now: i64,
    ) -> impl Future<Output = Result<(), StateError>>;
    /// Writes one half of the split request `request_id` (once: a second write of the
    /// same half changes nothing), atomically. Returns the other half when this write
    /// completes the pair and the request is this writer's to count; `counted`: this
    /// half (an end) is counted where it arrived, whatever comes later.
    fn join_half(
        &self,
        request_id: &str,
        half: Half,
        body: &str,
        counted: bool,
        now: i64,
    ) -> impl Future<Output = Result<Option<String>, StateError>>;
}

// ---------------------------------------------------------------- in memory

/// The state in this process: one container's view, as before shared state existed.
#[derive(Debug, Default)]
pub struct MemoryStore {
    incidents: Mutex<HashMap<String, Incident>>,
    /// Batch key → (done, claimed at).
    batches: Mutex<HashMap<String, (bool, i64)>>,
    /// Request id → its halves.
    pairs: Mutex<HashMap<String, Pair>>,
}

#[derive(Debug, Default)]
struct Pair {
    start: Option<String>,
    end: Option<String>,
    first: Option<Half>,
    counted: bool,
    at: i64,
}

impl MemoryStore {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl StateStore for MemoryStore {
    async fn get(&self, store_key: &str) -> Result<Option<Incident>, StateError> {
        Ok(Self::lock(&self.incidents).get(store_key).cloned())
    }

    async fn put(&self, next: &Incident, expected: u64) -> Result<bool, StateError> {
        let mut m = Self::lock(&self.incidents);
        let key = next.key.store_key();
        let current = m.get(&key).map_or(0, |i| i.version);
        if current != expected {
            return Ok(false);
        }
        m.insert(key, next.clone());
        Ok(true)
    }

    async fn remove(&self, store_key: &str, version: u64) -> Result<bool, StateError> {
        let mut m = Self::lock(&self.incidents);
        if m.get(store_key).map(|i| i.version) != Some(version) {
            return Ok(false);
        }
        m.remove(store_key);
        Ok(true)
    }

    async fn open(&self) -> Result<Vec<Incident>, StateError> {
        let mut v: Vec<Incident> = Self::lock(&self.incidents).values().cloned().collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(v)
    }

    async fn claim_batch(&self, batch_key: &str, now: i64) -> Result<bool, StateError> {
        let mut m = Self::lock(&self.batches);
        m.retain(|_, (_, at)| now - *at < CLAIM_TTL_SECS * 1000);
        match m.get(batch_key) {
            Some((true, _)) => Ok(false),
            Some((false, at)) if now - *at < CLAIM_STALE_MS => Ok(false),
            _ => {
                m.insert(batch_key.to_owned(), (false, now));
                Ok(true)
            }
        }
    }

    async fn finish_batch(&self, batch_key: &str, ok: bool, now: i64) -> Result<(), StateError> {
        let mut m = Self::lock(&self.batches);
        if ok {
            m.insert(batch_key.to_owned(), (true, now));
        } else {
            m.remove(batch_key);
        }
        Ok(())
    }

    async fn join_half(
        &self,
        request_id: &str,
        half: Half,
        body: &str,
        counted: bool,
        now: i64,
    ) -> Result<Option<String>, StateError> {
        let mut m = Self::lock(&self.pairs);
        if m.len() % 1024 == 1023 {
            m.retain(|_, p| now - p.at < PAIR_TTL_SECS * 1000);
        }
        let p = m.entry(request_id.to_owned()).or_insert_with(|| Pair {
            at: now,
            ..Pair::default()
        });
        let (first, counted_before) = (p.first, p.counted);
        let other = match half {
            Half::Start => p.end.clone(),
            Half::End => p.start.clone(),
        };
        let slot = match half {
            Half::Start => &mut p.start,
            Half::End => &mut p.end,
        };
        slot.get_or_insert_with(|| body.to_owned());
        p.first.get_or_insert(half);
        p.counted |= counted;
        Ok(completes(half, first, other, counted_before))
    }
}

// ---------------------------------------------------------------- DynamoDB

/// The state in a DynamoDB table (`INCIDENTS_TABLE`).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Whether an SDK error is a failed condition (someone else wrote first).
fn is_condition_failed<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
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

    fn err<E: std::error::Error>(&self, op: &'static str, e: &E) -> StateError {
        StateError::Dynamo {
            op,
            table: self.table.clone(),
            message: sdk_message(e),
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

impl StateStore for DynamoStore {
    async fn get(&self, store_key: &str) -> Result<Option<Incident>, StateError> {
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
    }

    async fn put(&self, next: &Incident, expected: u64) -> Result<bool, StateError> {
        let body = serde_json::to_string(next).map_err(|e| StateError::Corrupt {
            table: self.table.clone(),
            key: next.key.store_key(),
            message: e.to_string(),
        })?;
        let expires = next.last_activity / 1000 + INCIDENT_TTL_SECS;
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(INCIDENTS_PK))
            .item("sk", s(next.key.store_key()))
            .item("version", n(next.version as i64))
            .item("incident_id", s(&next.id))
            .item("body", s(body))
            .item("expires_at", n(expires));
        req = if expected == 0 {
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

    async fn remove(&self, store_key: &str, version: u64) -> Result<bool, StateError> {
        match self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(INCIDENTS_PK))
            .key("sk", s(store_key))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(version as i64))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(self.err("DeleteItem", &e)),
        }
    }

    async fn open(&self) -> Result<Vec<Incident>, StateError> {
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
    }

    async fn claim_batch(&self, batch_key: &str, now: i64) -> Result<bool, StateError> {
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
    }

    async fn finish_batch(&self, batch_key: &str, ok: bool, now: i64) -> Result<(), StateError> {
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
    }

    async fn join_half(
        &self,
        request_id: &str,
        half: Half,
        body: &str,
        counted: bool,
        now: i64,
    ) -> Result<Option<String>, StateError> {
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
    }
}

// ---------------------------------------------------------------- either

/// The store the function uses: DynamoDB when `INCIDENTS_TABLE` is set, else memory.
#[derive(Debug)]
pub enum Store {
    /// This container's own state.
    Memory(Arc<MemoryStore>),
    /// State shared by handlers in one process (simulations of many containers).
    SharedMemory(Arc<MemoryStore>),
    Dynamo(DynamoStore),
}

impl Store {
    pub fn memory() -> Store {
        Store::Memory(Arc::default())
    }

    /// One in-memory store shared by several handlers in this process: what the DynamoDB
    /// table gives containers, for simulations of many containers (tests/replay.rs).
    pub fn shared_memory(store: &Arc<MemoryStore>) -> Store {
        Store::SharedMemory(Arc::clone(store))
    }

    /// Every container sees this state: split requests can be joined through it.
    pub fn is_shared(&self) -> bool {
        matches!(self, Store::Dynamo(_) | Store::SharedMemory(_))
    }
}

impl StateStore for Store {
    async fn get(&self, store_key: &str) -> Result<Option<Incident>, StateError> {
        match self {
            Store::Memory(m) | Store::SharedMemory(m) => m.get(store_key).await,
            Store::Dynamo(d) => d.get(store_key).await,
        }
    }
    async fn put(&self, next: &Incident, expected: u64) -> Result<bool, StateError> {
        match self {
            Store::Memory(m) | Store::SharedMemory(m) => m.put(next, expected).await,
            Store::Dynamo(d) => d.put(next, expected).await,
        }
    }
    async fn remove(&self, store_key: &str, version: u64) -> Result<bool, StateError> {
        match self {
            Store::Memory(m) | Store::SharedMemory(m) => m.remove(store_key, version).await,
            Store::Dynamo(d) => d.remove(store_key, version).await,
        }
    }
    async fn open(&self) -> Result<Vec<Incident>, StateError> {
        match self {
            Store::Memory(m) | Store::SharedMemory(m) => m.open().await,
            Store::Dynamo(d) => d.open().await,
        }
    }
    async fn claim_batch(&self, batch_key: &str, now: i64) -> Result<bool, StateError> {
        match self {
            Store::Memory(m) | Store::SharedMemory(m) => m.claim_batch(batch_key, now).await,
            Store::Dynamo(d) => d.claim_batch(batch_key, now).await,
        }
    }
    async fn finish_batch(&self, batch_key: &str, ok: bool, now: i64) -> Result<(), StateError> {
        match self {
            Store::Memory(m) | Store::SharedMemory(m) => m.finish_batch(batch_key, ok, now).await,
            Store::Dynamo(d) => d.finish_batch(batch_key, ok, now).await,
        }
    }
    async fn join_half(
        &self,
        request_id: &str,
        half: Half,
        body: &str,
        counted: bool,
        now: i64,
    ) -> Result<Option<String>, StateError> {
        match self {
            Store::Memory(m) | Store::SharedMemory(m) => {
                m.join_half(request_id, half, body, counted, now).await
            }
            Store::Dynamo(d) => d.join_half(request_id, half, body, counted, now).await,
        }
    }
}

/// The DynamoDB store with short timeouts: a failing table must leave the invocation
/// time to send the alert anyway (two attempts, each bounded).
pub fn dynamo_store(shared: &aws_config::SdkConfig, table: &str) -> Store {
    use std::time::Duration;
    let shared = crate::aws::bounded_config(
        shared,
        2,
        Duration::from_secs(1),
        Duration::from_secs(2),
        Duration::from_secs(5),
    );
    Store::Dynamo(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&shared),
        table,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::incidents::Severity;
    use crate::model::incident::IncidentKey;
    use crate::model::kind::Cause;
    use crate::model::kind::Kind;

    fn incident(version: u64) -> Incident {
        Incident {
            id: "inc-1".into(),
            key: IncidentKey {
                api_id: "a1".into(),
                stage: "prod".into(),
                backend: None,
                kind: Kind::Timeout,
            },
            cause: Cause::IntegrationTimeout,
            severity: Severity::Warning,
            backend: None,
            status: Some(504),
            opened_at: 0,
            last_activity: 0,
            first_seen: None,
            last_seen: None,
            requests: 1,
            affected: 1,
            routes: Default::default(),
            log_group: String::new(),
            onset: None,
            notified_at: 0,
            notified_affected: 1,
            notified_routes: 0,
            version,
        }
    }

    fn block<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn memory_store_writes_are_conditional() {
        let m = MemoryStore::default();
        let key = incident(1).key.store_key();
        assert!(block(m.put(&incident(1), 0)).unwrap());
        assert!(!block(m.put(&incident(1), 0)).unwrap(), "exists already");
        assert!(!block(m.put(&incident(2), 5)).unwrap(), "wrong version");
        assert!(block(m.put(&incident(2), 1)).unwrap());
        assert_eq!(block(m.get(&key)).unwrap().unwrap().version, 2);
        assert!(!block(m.remove(&key, 1)).unwrap());
        assert!(block(m.remove(&key, 2)).unwrap());
        assert!(block(m.open()).unwrap().is_empty());
    }

    #[test]
    fn memory_claims_once_until_released_or_stale() {
        let m = MemoryStore::default();
        assert!(block(m.claim_batch("b", 0)).unwrap());
        assert!(!block(m.claim_batch("b", 1)).unwrap());
        block(m.finish_batch("b", false, 2)).unwrap();
        assert!(
            block(m.claim_batch("b", 3)).unwrap(),
            "released: a retry takes it"
        );
        assert!(
            block(m.claim_batch("b", 3 + CLAIM_STALE_MS)).unwrap(),
            "stale claim"
        );
        block(m.finish_batch("b", true, 4 + CLAIM_STALE_MS)).unwrap();
        assert!(
            !block(m.claim_batch("b", 10 * CLAIM_STALE_MS)).unwrap(),
            "done"
        );
    }

    #[test]
    fn the_second_half_counts_once() {
        let m = MemoryStore::default();
        let j = |id, h, body: &str, counted| block(m.join_half(id, h, body, counted, 0)).unwrap();
        // End first, not counted: the start's writer counts it, once.
        assert_eq!(j("r1", Half::End, "e", false), None);
        assert_eq!(j("r1", Half::End, "e2", false), None, "the same half again");
        assert_eq!(j("r1", Half::Start, "s", false).as_deref(), Some("e"));
        assert_eq!(
            j("r1", Half::Start, "s", false).as_deref(),
            Some("e"),
            "a retry of that batch decides the same"
        );
        // Start first: the end's writer gets the start, counted or not.
        assert_eq!(j("r2", Half::Start, "s", false), None);
        assert_eq!(j("r2", Half::End, "e", true).as_deref(), Some("s"));
        // An end counted where it arrived: the start that comes later counts nothing.
        assert_eq!(j("r3", Half::End, "e", true), None);
        assert_eq!(j("r3", Half::Start, "s", false), None);
    }
}
