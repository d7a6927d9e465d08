//! Evidence in other accounts (issue 25, part 4): a request fanned in from another
//! account (central Kinesis) has its early lines and its backend's runs in that account's
//! log groups. [`CrossAccountLookup`] routes each [`Query`] by its account, as
//! `CROSS_ACCOUNT_EVIDENCE` says ([`CrossAccount`]):
//!
//! - `off`: not read; the outcome is [`LookupError::NotReadable`] with
//!   [`NoAccess::NotConfigured`], at once, with no call;
//! - `oam`: read with this account's credentials, the adapter naming the group by its ARN
//!   (CloudWatch cross-account observability; docs/reference/org-wide.md §5);
//! - `role:NAME`: read through a role of that account ([`AccountAccess`], STS in `aws/`),
//!   one assume per account kept in an [`AccountCache`] until shortly before it expires,
//!   a refusal kept too, so that a batch of 100 requests from a denied account makes one
//!   STS call.
//!
//! Whatever happens, the outcome is a value: a finding goes out with what could be read
//! and says what could not ([`NoAccess`], words in `render/words`), never waits past the
//! lookups' deadline.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::model::diagnosis::{NoAccess, Via};
use crate::monitor::lookup::{LogLookup, LookupError, LookupFuture, Query};

/// `CROSS_ACCOUNT_EVIDENCE`: how evidence in another account is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CrossAccount {
    /// Not read: the finding says where the evidence is.
    #[default]
    Off,
    /// The group's ARN through an OAM link to this (monitoring) account.
    Oam,
    /// `sts:AssumeRole` into `arn:PARTITION:iam::ACCOUNT:role/NAME`.
    Role(String),
}

impl CrossAccount {
    /// `off`, `oam` or `role:NAME` (an IAM role name, optionally with a path).
    pub fn parse(raw: &str) -> Option<CrossAccount> {
        let raw = raw.trim();
        match raw.to_ascii_lowercase().as_str() {
            "" | "off" => return Some(CrossAccount::Off),
            "oam" => return Some(CrossAccount::Oam),
            _ => {}
        }
        let name = raw.strip_prefix("role:")?.trim();
        let ok = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
        (!name.is_empty() && name.len() <= 512 && name.chars().all(ok) && !name.ends_with('/'))
            .then(|| CrossAccount::Role(name.to_owned()))
    }
}

/// The account to name in a [`Query`]: `account` when it is known and not `own` (the
/// function's own account, when known; unknown, every group is read as its own).
pub fn foreign(account: Option<&str>, own: Option<&str>) -> Option<String> {
    match (account, own) {
        (Some(a), Some(o)) if a != o => Some(a.to_owned()),
        _ => None,
    }
}

/// Credentials are renewed this long before they expire (a lookup must not start on
/// credentials that end while it runs).
pub const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// A refusal is believed this long: a role being created is picked up within minutes,
/// and a denied account costs one STS call per container per period.
pub const RETRY_DENIED: Duration = Duration::from_secs(300);
/// A timeout or another STS error is retried sooner.
pub const RETRY_FAILED: Duration = Duration::from_secs(60);
/// Accounts whose access is kept at once (an organisation's fan-in rarely has more
/// active in one container; past it the least recently used goes).
pub const MAX_ACCOUNTS: usize = 64;
/// Without a deadline from the lookups (tests), an assume gets this long.
const ASSUME_DEFAULT: Duration = Duration::from_secs(5);
/// The assume gives up this long before the lookups' deadline, so that its outcome is a
/// "timed out" fact rather than a lookup skipped at the deadline.
const ASSUME_MARGIN: Duration = Duration::from_millis(500);

type Settled<T> = Result<(T, Instant), (NoAccess, Instant)>;

struct Slot<T> {
    /// One attempt, shared by every lookup of the account while it runs (single flight).
    cell: Arc<OnceCell<Settled<T>>>,
    used: Instant,
}

/// Access per account: the value until `REFRESH_BEFORE` its expiry, a refusal for
/// [`RETRY_DENIED`] (others [`RETRY_FAILED`]), at most `max` accounts. Plain data with
/// a clock passed in, so that it is tested without waiting.
pub struct AccountCache<T> {
    slots: Mutex<HashMap<String, Slot<T>>>,
    max: usize,
}

impl<T: Clone + Send + Sync + 'static> AccountCache<T> {
    pub fn new(max: usize) -> Self {
        AccountCache {
            slots: Mutex::new(HashMap::new()),
            max: max.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot<T>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The account's access, made by `make` (value and expiry, or why not) when none is
    /// kept; waits for an attempt already running. Ends by `until` whatever `make` does.
    pub async fn get<F, Fut>(
        &self,
        account: &str,
        now: Instant,
        until: Instant,
        make: F,
    ) -> Result<T, NoAccess>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, Instant), NoAccess>>,
    {
        let cell = self.slot(account, now);
        let attempt = cell.get_or_init(|| async move {
            make().await.map_err(|why| {
                let retry = match why {
                    NoAccess::Denied(_) | NoAccess::NotConfigured => RETRY_DENIED,
                    NoAccess::TimedOut | NoAccess::AssumeFailed => RETRY_FAILED,
                };
                (why, now + retry)
            })
        });
        match tokio::time::timeout_at(until.into(), attempt).await {
            Ok(Ok((value, _))) => Ok(value.clone()),
            Ok(Err((why, _))) => Err(*why),
            Err(_) => Err(NoAccess::TimedOut),
        }
    }

    /// The account's slot: kept while it is good at `now`, else a fresh one (evicting
    /// when full).
    fn slot(&self, account: &str, now: Instant) -> Arc<OnceCell<Settled<T>>> {
        let mut slots = self.lock();
        if slots.get(account).is_some_and(|s| !good(s.cell.get(), now)) {
            slots.remove(account);
        }
        if !slots.contains_key(account) && slots.len() >= self.max {
            slots.retain(|_, s| good(s.cell.get(), now));
            while slots.len() >= self.max {
                let Some(oldest) = slots
                    .iter()
                    .min_by_key(|(_, s)| s.used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                slots.remove(&oldest);
            }
        }
        let slot = slots.entry(account.to_owned()).or_insert_with(|| Slot {
            cell: Arc::new(OnceCell::new()),
            used: now,
        });
        slot.used = now;
        Arc::clone(&slot.cell)
    }
}

/// Still usable at `now`: running (or abandoned unfinished), valid past the refresh
/// margin, or a refusal not yet due for a retry.
fn good<T>(settled: Option<&Settled<T>>, now: Instant) -> bool {
    match settled {
        None => true,
        Some(Ok((_, expires))) => *expires > now + REFRESH_BEFORE,
        Some(Err((_, retry_at))) => *retry_at > now,
    }
}

/// A lookup into one account, and when its credentials expire.
pub struct Assumed {
    pub lookup: Arc<dyn LogLookup>,
    pub expires: Instant,
}

pub type AssumeFuture = Pin<Box<dyn Future<Output = Result<Assumed, NoAccess>> + Send>>;

/// The port to another account's logs through a role (`aws::cross_account` with STS;
/// [`MemoryAccess`] in tests). The answer must come by `until`.
pub trait AccountAccess: Send + Sync {
    fn assume(&self, account: &str, until: Instant) -> AssumeFuture;
}

/// A [`LogLookup`] that reads each query's account as [`CrossAccount`] says (module doc).
#[derive(Clone)]
pub struct CrossAccountLookup {
    own: Arc<dyn LogLookup>,
    mode: CrossAccount,
    access: Option<Arc<dyn AccountAccess>>,
    cache: Arc<AccountCache<Arc<dyn LogLookup>>>,
}

impl CrossAccountLookup {
    /// `own` reads this account (and, with `oam`, other accounts' groups by ARN);
    /// `access` is needed for `role:`.
    pub fn new(
        own: Arc<dyn LogLookup>,
        mode: CrossAccount,
        access: Option<Arc<dyn AccountAccess>>,
    ) -> Self {
        CrossAccountLookup {
            own,
            mode,
            access,
            cache: Arc::new(AccountCache::new(MAX_ACCOUNTS)),
        }
    }
}

/// A denial from the account read means no access there; anything else stays a failure.
fn denied_there(e: LookupError, account: &str, via: Via) -> LookupError {
    match e {
        LookupError::Denied { log_group, .. } => LookupError::NotReadable {
            log_group,
            account: account.to_owned(),
            why: NoAccess::Denied(via),
        },
        other => other,
    }
}

impl LogLookup for CrossAccountLookup {
    fn filter(&self, query: Query) -> LookupFuture {
        let Some(account) = query.account.clone() else {
            return self.own.filter(query);
        };
        let me = self.clone();
        Box::pin(async move {
            let not_readable = |why| LookupError::NotReadable {
                log_group: query.log_group.clone(),
                account: account.clone(),
                why,
            };
            match (&me.mode, &me.access) {
                (CrossAccount::Off, _) | (CrossAccount::Role(_), None) => {
                    Err(not_readable(NoAccess::NotConfigured))
                }
                (CrossAccount::Oam, _) => me
                    .own
                    .filter(query.clone())
                    .await
                    .map_err(|e| denied_there(e, &account, Via::Oam)),
                (CrossAccount::Role(_), Some(access)) => {
                    let now = Instant::now();
                    let until = query
                        .until
                        .map_or(now + ASSUME_DEFAULT, |u| {
                            u.checked_sub(ASSUME_MARGIN).unwrap_or(now)
                        })
                        .max(now);
                    let got = me
                        .cache
                        .get(&account, now, until, || {
                            let fut = access.assume(&account, until);
                            async move { fut.await.map(|a| (a.lookup, a.expires)) }
                        })
                        .await;
                    let lookup = got.map_err(not_readable)?;
                    // Inside the account the group is its own: read by name.
                    let inside = Query {
                        account: None,
                        ..query.clone()
                    };
                    lookup
                        .filter(inside)
                        .await
                        .map_err(|e| denied_there(e, &account, Via::Role))
                }
            }
        })
    }
}

/// An [`AccountAccess`] in memory: each account's lookup, accounts that refuse, a delay
/// (a hanging STS), and the calls made.
#[derive(Default)]
pub struct MemoryAccess {
    pub accounts: Mutex<HashMap<String, Arc<dyn LogLookup>>>,
    /// Accounts that answer AccessDenied.
    pub denied: Mutex<Vec<String>>,
    /// Make every assume take this long.
    pub delay: Mutex<Option<Duration>>,
    /// Credentials last this long (default one hour).
    pub lifetime: Mutex<Option<Duration>>,
    pub calls: std::sync::atomic::AtomicUsize,
}

impl MemoryAccess {
    pub fn allow(&self, account: &str, lookup: Arc<dyn LogLookup>) {
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.to_owned(), lookup);
    }

    pub fn deny(&self, account: &str) {
        self.denied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(account.to_owned());
    }
}

impl AccountAccess for Arc<MemoryAccess> {
    fn assume(&self, account: &str, until: Instant) -> AssumeFuture {
        let me = Arc::clone(self);
        let account = account.to_owned();
        Box::pin(async move {
            me.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let delay = *me.delay.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(d) = delay {
                // Bounded as the STS adapter is: by `until`.
                if tokio::time::timeout_at(until.into(), tokio::time::sleep(d))
                    .await
                    .is_err()
                {
                    return Err(NoAccess::TimedOut);
                }
            }
            let denied = me.denied.lock().unwrap_or_else(|e| e.into_inner());
            if denied.contains(&account) {
                return Err(NoAccess::Denied(Via::Role));
            }
            let lifetime = me.lifetime.lock().unwrap_or_else(|e| e.into_inner());
            let expires = Instant::now() + lifetime.unwrap_or(Duration::from_secs(3600));
            let accounts = me.accounts.lock().unwrap_or_else(|e| e.into_inner());
            match accounts.get(&account) {
                Some(lookup) => Ok(Assumed {
                    lookup: Arc::clone(lookup),
                    expires,
                }),
                None => Err(NoAccess::Denied(Via::Role)),
            }
        })
    }
}

#[cfg(test)]
mod tests;
