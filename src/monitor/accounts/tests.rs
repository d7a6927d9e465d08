use super::*;
use crate::monitor::lookup::{lookup_all, FetchedEvent, MemoryLookup, Outcome};
use std::sync::atomic::{AtomicUsize, Ordering};

const A: &str = "111122223333";
const B: &str = "444455556666";
const GROUP: &str = "API-Gateway-Execution-Logs_a1b2c3d4e5/prod";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn hour() -> Duration {
    Duration::from_secs(3600)
}

/// A cache of numbers: each make counts a call and gives `value` or `why`.
fn make(
    calls: &AtomicUsize,
    got: Result<(u32, Instant), NoAccess>,
) -> impl FnOnce() -> std::future::Ready<Result<(u32, Instant), NoAccess>> + '_ {
    move || {
        calls.fetch_add(1, Ordering::Relaxed);
        std::future::ready(got)
    }
}

#[test]
fn kept_until_shortly_before_expiry() {
    let cache = AccountCache::<u32>::new(4);
    let calls = AtomicUsize::new(0);
    let t0 = Instant::now();
    let far = t0 + hour();
    let expires = t0 + hour();
    let rt = rt();
    let get =
        |now: Instant, v: u32| rt.block_on(cache.get(A, now, far, make(&calls, Ok((v, expires)))));
    assert_eq!(get(t0, 1), Ok(1));
    // Later, still well before expiry: the same credentials, no new call.
    assert_eq!(get(t0 + Duration::from_secs(1800), 2), Ok(1));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    // Within REFRESH_BEFORE of the expiry: renewed.
    let late = expires - REFRESH_BEFORE + Duration::from_secs(1);
    assert_eq!(get(late, 3), Ok(3));
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}

#[test]
fn a_refusal_is_remembered_then_retried() {
    let cache = AccountCache::<u32>::new(4);
    let calls = AtomicUsize::new(0);
    let t0 = Instant::now();
    let far = t0 + hour();
    let rt = rt();
    let denied = Err(NoAccess::Denied(Via::Role));
    for k in 0..100 {
        let now = t0 + Duration::from_millis(k);
        let got = rt.block_on(cache.get(A, now, far, make(&calls, denied)));
        assert_eq!(got, Err(NoAccess::Denied(Via::Role)));
    }
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "one STS call for 100 lookups"
    );
    // Past RETRY_DENIED, asked again (the role may exist now).
    let later = t0 + RETRY_DENIED + Duration::from_secs(1);
    let got = rt.block_on(cache.get(
        A,
        later,
        later + hour(),
        make(&calls, Ok((7, later + hour()))),
    ));
    assert_eq!((got, calls.load(Ordering::Relaxed)), (Ok(7), 2));
    // A timeout is retried sooner than a denial.
    let calls = AtomicUsize::new(0);
    let timed_out = Err(NoAccess::TimedOut);
    let _ = rt.block_on(cache.get(B, t0, far, make(&calls, timed_out)));
    let soon = t0 + RETRY_FAILED + Duration::from_secs(1);
    assert!(soon < t0 + RETRY_DENIED);
    let _ = rt.block_on(cache.get(B, soon, far, make(&calls, timed_out)));
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}

#[test]
fn bounded_least_recently_used_goes() {
    let cache = AccountCache::<u32>::new(3);
    let calls = AtomicUsize::new(0);
    let t0 = Instant::now();
    let far = t0 + hour();
    let rt = rt();
    let accounts = [
        "000000000001",
        "000000000002",
        "000000000003",
        "000000000004",
    ];
    for (k, a) in accounts.iter().enumerate() {
        let now = t0 + Duration::from_secs(k as u64);
        // The first is used again before the fourth comes: the second is the oldest.
        if k == 3 {
            let _ = rt.block_on(cache.get(accounts[0], now, far, make(&calls, Ok((0, far)))));
        }
        let _ = rt.block_on(cache.get(a, now, far, make(&calls, Ok((k as u32, far)))));
    }
    assert_eq!(cache.len(), 3);
    assert_eq!(calls.load(Ordering::Relaxed), 4);
    let now = t0 + Duration::from_secs(10);
    // Kept: the first and the fourth (no call); evicted: the second (a call).
    let _ = rt.block_on(cache.get(accounts[0], now, far, make(&calls, Ok((9, far)))));
    let _ = rt.block_on(cache.get(accounts[3], now, far, make(&calls, Ok((9, far)))));
    assert_eq!(calls.load(Ordering::Relaxed), 4);
    let _ = rt.block_on(cache.get(accounts[1], now, far, make(&calls, Ok((9, far)))));
    assert_eq!(calls.load(Ordering::Relaxed), 5);
    assert!(cache.len() <= 3);
}

#[test]
fn a_hanging_make_ends_by_until() {
    let cache = AccountCache::<u32>::new(4);
    let started = Instant::now();
    let until = started + Duration::from_millis(50);
    let got = rt().block_on(cache.get(A, started, until, || async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok((1, started + hour()))
    }));
    assert_eq!(got, Err(NoAccess::TimedOut));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn parses_the_setting() {
    assert_eq!(CrossAccount::parse(""), Some(CrossAccount::Off));
    assert_eq!(CrossAccount::parse(" OFF "), Some(CrossAccount::Off));
    assert_eq!(CrossAccount::parse("oam"), Some(CrossAccount::Oam));
    assert_eq!(
        CrossAccount::parse("role:apigw-doctor-evidence"),
        Some(CrossAccount::Role("apigw-doctor-evidence".into()))
    );
    assert_eq!(
        CrossAccount::parse("role:ops/apigw-doctor"),
        Some(CrossAccount::Role("ops/apigw-doctor".into()))
    );
    for bad in [
        "role:",
        "role:a b",
        "role:x/",
        "on",
        "arn:aws:iam::1:role/x",
        "role",
    ] {
        assert_eq!(CrossAccount::parse(bad), None, "{bad}");
    }
}

fn query(account: Option<&str>, until: Option<Instant>) -> Query {
    Query {
        log_group: GROUP.into(),
        account: account.map(str::to_owned),
        log_stream: Some("s".into()),
        terms: vec!["req-1".into()],
        start_ms: 0,
        end_ms: 100,
        until,
    }
}

fn line() -> FetchedEvent {
    FetchedEvent {
        id: "1".into(),
        timestamp: 10,
        message: "(req-1) Sending request to https://example.com".into(),
        log_stream: "s".into(),
    }
}

fn not_readable(o: &Outcome) -> Option<(String, NoAccess)> {
    match o {
        Outcome::Failed(LookupError::NotReadable { account, why, .. }) => {
            Some((account.clone(), *why))
        }
        _ => None,
    }
}

#[test]
fn off_says_not_configured_without_a_call() {
    let own = Arc::new(MemoryLookup::default());
    own.add(GROUP, line());
    let router = CrossAccountLookup::new(Arc::new(Arc::clone(&own)), CrossAccount::Off, None);
    let lookup: Arc<dyn LogLookup> = Arc::new(router);
    let got = rt().block_on(lookup_all(
        &lookup,
        vec![query(None, None), query(Some(A), None)],
        20,
        None,
    ));
    assert!(matches!(got.results[0].1, Outcome::Found(ref v) if v.len() == 1));
    assert_eq!(
        not_readable(&got.results[1].1),
        Some((A.into(), NoAccess::NotConfigured))
    );
    assert_eq!(own.calls.load(Ordering::Relaxed), 1, "the own account only");
}

#[test]
fn role_reads_the_account_and_one_assume_serves_a_batch() {
    let own = Arc::new(MemoryLookup::default());
    let there = Arc::new(MemoryLookup::default());
    there.add(GROUP, line());
    let access = Arc::new(MemoryAccess::default());
    access.allow(A, Arc::new(Arc::clone(&there)));
    access.deny(B);
    let router = CrossAccountLookup::new(
        Arc::new(Arc::clone(&own)),
        CrossAccount::Role("apigw-doctor-evidence".into()),
        Some(Arc::new(Arc::clone(&access))),
    );
    let lookup: Arc<dyn LogLookup> = Arc::new(router);
    let mut queries = vec![query(Some(A), None); 3];
    queries.extend(vec![query(Some(B), None); 100]);
    let got = rt().block_on(lookup_all(&lookup, queries, 200, None));
    for (_, o) in &got.results[..3] {
        assert!(
            matches!(o, Outcome::Found(v) if v == &vec![line()]),
            "{o:?}"
        );
    }
    for (_, o) in &got.results[3..] {
        assert_eq!(
            not_readable(o),
            Some((B.into(), NoAccess::Denied(Via::Role)))
        );
    }
    // One assume per account, concurrent lookups included; the own account untouched.
    assert_eq!(access.calls.load(Ordering::Relaxed), 2);
    assert_eq!(own.calls.load(Ordering::Relaxed), 0);
    assert_eq!(there.calls.load(Ordering::Relaxed), 3);
}

#[test]
fn a_hanging_sts_is_a_timed_out_fact_within_the_deadline() {
    let access = Arc::new(MemoryAccess::default());
    *access.delay.lock().unwrap() = Some(Duration::from_secs(3600));
    access.allow(A, Arc::new(Arc::new(MemoryLookup::default())));
    let router = CrossAccountLookup::new(
        Arc::new(Arc::new(MemoryLookup::default())),
        CrossAccount::Role("r".into()),
        Some(Arc::new(Arc::clone(&access))),
    );
    let lookup: Arc<dyn LogLookup> = Arc::new(router);
    let started = Instant::now();
    let until = started + Duration::from_millis(800);
    let got = rt().block_on(lookup_all(
        &lookup,
        vec![query(Some(A), None); 10],
        20,
        Some(until),
    ));
    // Bounded by the deadline (the lookups' own), not by the hour STS would take.
    assert!(Instant::now() <= until + Duration::from_secs(2));
    for (_, o) in &got.results {
        assert_eq!(
            not_readable(o),
            Some((A.into(), NoAccess::TimedOut)),
            "{o:?}"
        );
    }
    assert_eq!(access.calls.load(Ordering::Relaxed), 1);
}

#[test]
fn oam_reads_with_own_credentials_and_maps_a_denial() {
    // The own lookup sees the account (the adapter names the group by ARN).
    struct Refuses;
    impl LogLookup for Refuses {
        fn filter(&self, q: Query) -> LookupFuture {
            Box::pin(async move {
                match q.account {
                    Some(_) => Err(LookupError::Denied {
                        log_group: q.log_group,
                        message: "AccessDeniedException".into(),
                    }),
                    None => Ok(Vec::new()),
                }
            })
        }
    }
    let router = CrossAccountLookup::new(Arc::new(Refuses), CrossAccount::Oam, None);
    let lookup: Arc<dyn LogLookup> = Arc::new(router);
    let got = rt().block_on(lookup_all(
        &lookup,
        vec![query(Some(A), None), query(None, None)],
        20,
        None,
    ));
    assert_eq!(
        not_readable(&got.results[0].1),
        Some((A.into(), NoAccess::Denied(Via::Oam)))
    );
    assert_eq!(got.results[1].1, Outcome::Found(Vec::new()));
}
