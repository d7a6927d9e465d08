//! The shared state in memory, counting the DynamoDB requests the deployed table would
//! get for the same calls (for the cost per million requests): every call is one
//! request, except the additions the DynamoDB adapter makes item by item, counted by
//! the adapter's own item functions.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use apigw_doctor::engine::budget::{BudgetNotice, SloCounts};
use apigw_doctor::engine::daily_latency::RouteDay;
use apigw_doctor::engine::incidents::Incident;
use apigw_doctor::engine::slo::SloKey;
use apigw_doctor::monitor::budget::{BudgetStore, SloCount};
use apigw_doctor::monitor::state::{
    BatchClaims, DailyLatencyStore, Half, IncidentStore, MemoryStore, SplitHalves, StateFuture,
};

#[derive(Default)]
pub struct CountedStore {
    pub inner: MemoryStore,
    /// Port call → (writes, reads) it made.
    calls: Mutex<BTreeMap<&'static str, (u64, u64)>>,
}

impl CountedStore {
    pub fn new() -> Arc<CountedStore> {
        Arc::new(CountedStore::default())
    }
    /// (writes, reads) so far.
    pub fn requests(&self) -> (u64, u64) {
        self.by_call()
            .values()
            .fold((0, 0), |(w, r), (cw, cr)| (w + cw, r + cr))
    }
    /// (writes, reads) by port call.
    pub fn by_call(&self) -> BTreeMap<&'static str, (u64, u64)> {
        self.calls.lock().unwrap().clone()
    }
    fn write(&self, call: &'static str, n: usize) -> &MemoryStore {
        self.calls.lock().unwrap().entry(call).or_default().0 += n as u64;
        &self.inner
    }
    fn read(&self, call: &'static str) -> &MemoryStore {
        self.calls.lock().unwrap().entry(call).or_default().1 += 1;
        &self.inner
    }
}

impl IncidentStore for CountedStore {
    fn get<'a>(&'a self, store_key: &'a str) -> StateFuture<'a, Option<Incident>> {
        self.read("incident").get(store_key)
    }
    fn put<'a>(&'a self, next: &'a Incident, expected: u64) -> StateFuture<'a, bool> {
        self.write("incident", 1).put(next, expected)
    }
    fn remove<'a>(&'a self, store_key: &'a str, version: u64) -> StateFuture<'a, bool> {
        self.write("incident", 1).remove(store_key, version)
    }
    fn open(&self) -> StateFuture<'_, Vec<Incident>> {
        self.read("incident").open()
    }
}

impl BatchClaims for CountedStore {
    fn claim_batch<'a>(&'a self, batch_key: &'a str, now: i64) -> StateFuture<'a, bool> {
        self.write("batch claim", 1).claim_batch(batch_key, now)
    }
    fn finish_batch<'a>(&'a self, batch_key: &'a str, ok: bool, now: i64) -> StateFuture<'a, ()> {
        self.write("batch claim", 1)
            .finish_batch(batch_key, ok, now)
    }
}

impl SplitHalves for CountedStore {
    fn join_half<'a>(
        &'a self,
        request_id: &'a str,
        half: Half,
        body: &'a str,
        counted: bool,
        now: i64,
    ) -> StateFuture<'a, Option<String>> {
        self.write("split half", 1)
            .join_half(request_id, half, body, counted, now)
    }
}

impl DailyLatencyStore for CountedStore {
    fn add<'a>(&'a self, rows: &'a [RouteDay], now: i64) -> StateFuture<'a, ()> {
        let n = rows
            .iter()
            .map(|r| apigw_doctor::aws::daily_latency::updates(r, 0).len())
            .sum();
        self.write("daily latency", n).add(rows, now)
    }
    fn days(&self, first: i64, last: i64) -> StateFuture<'_, Vec<RouteDay>> {
        self.read("daily latency").days(first, last)
    }
}

impl BudgetStore for CountedStore {
    fn add_counts<'a>(&'a self, counts: &'a [SloCount]) -> StateFuture<'a, ()> {
        self.write(
            "error budget",
            apigw_doctor::aws::budget_store::writes(counts),
        )
        .add_counts(counts)
    }
    fn active_slos(&self, since: i64) -> StateFuture<'_, Vec<SloKey>> {
        self.read("error budget").active_slos(since)
    }
    fn slo_counts<'a>(
        &'a self,
        slo: &'a SloKey,
        since: i64,
        days_since: i64,
    ) -> StateFuture<'a, SloCounts> {
        self.read("error budget").slo_counts(slo, since, days_since)
    }
    fn open_notices(&self) -> StateFuture<'_, Vec<BudgetNotice>> {
        self.read("error budget").open_notices()
    }
    fn put_notice<'a>(&'a self, next: &'a BudgetNotice, expected: u64) -> StateFuture<'a, bool> {
        self.write("error budget", 1).put_notice(next, expected)
    }
    fn remove_notice<'a>(&'a self, slo: &'a SloKey, version: u64) -> StateFuture<'a, bool> {
        self.write("error budget", 1).remove_notice(slo, version)
    }
}
