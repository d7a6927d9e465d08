//! [`BudgetStore`] in this process ([`MemoryStore`]): what the state table keeps, in
//! maps, for the CLI's dry run and for simulations of many containers.

use crate::engine::budget::{BudgetNotice, SloCounts};
use crate::engine::slo::SloKey;
use crate::monitor::budget::{BudgetStore, SloCount};
use crate::monitor::state::{MemoryStore, StateFuture};

const DAY_MS: i64 = 24 * 3600 * 1000;
const KEEP_MINUTES_MS: i64 = 4 * DAY_MS;

impl BudgetStore for MemoryStore {
    fn add_counts<'a>(&'a self, counts: &'a [SloCount]) -> StateFuture<'a, ()> {
        Box::pin(async move {
            let mut b = Self::lock(&self.budget);
            for c in counts {
                let e = b.counts.entry(c.slo.clone()).or_default();
                let series = e.routes.entry(c.route.clone()).or_default();
                series.entry(c.minute).or_default().add(c.tally);
                // Minutes past the longest window are not read again (a warm container
                // without the table would otherwise grow without bound).
                let keep_from = c.minute - KEEP_MINUTES_MS;
                if series
                    .first_key_value()
                    .is_some_and(|(m, _)| *m < keep_from)
                {
                    *series = series.split_off(&keep_from);
                }
                let day = c.minute.div_euclid(DAY_MS) * DAY_MS;
                e.days.entry(day).or_default().add(c.tally);
                e.first_minute = Some(e.first_minute.map_or(c.minute, |f| f.min(c.minute)));
                let last = b.last.entry(c.slo.clone()).or_insert(c.minute);
                *last = (*last).max(c.minute);
            }
            Ok(())
        })
    }

    fn active_slos(&self, since: i64) -> StateFuture<'_, Vec<SloKey>> {
        Box::pin(async move {
            let b = Self::lock(&self.budget);
            Ok(b.last
                .iter()
                .filter(|(_, last)| **last >= since)
                .map(|(k, _)| k.clone())
                .collect())
        })
    }

    fn slo_counts<'a>(
        &'a self,
        slo: &'a SloKey,
        since: i64,
        days_since: i64,
    ) -> StateFuture<'a, SloCounts> {
        Box::pin(async move {
            let b = Self::lock(&self.budget);
            let Some(all) = b.counts.get(slo) else {
                return Ok(SloCounts::default());
            };
            let routes = all
                .routes
                .iter()
                .map(|(r, s)| (r.clone(), s.range(since..).map(|(m, t)| (*m, *t)).collect()))
                .collect();
            let days = all
                .days
                .range(days_since..)
                .map(|(d, t)| (*d, *t))
                .collect();
            Ok(SloCounts {
                routes,
                days,
                first_minute: all.first_minute,
            })
        })
    }

    fn open_notices(&self) -> StateFuture<'_, Vec<BudgetNotice>> {
        Box::pin(async move { Ok(Self::lock(&self.budget).notices.values().cloned().collect()) })
    }

    fn put_notice<'a>(&'a self, next: &'a BudgetNotice, expected: u64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let mut b = Self::lock(&self.budget);
            if b.notices.get(&next.slo).map_or(0, |n| n.version) != expected {
                return Ok(false);
            }
            b.notices.insert(next.slo.clone(), next.clone());
            Ok(true)
        })
    }

    fn remove_notice<'a>(&'a self, slo: &'a SloKey, version: u64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let mut b = Self::lock(&self.budget);
            if b.notices.get(slo).map(|n| n.version) != Some(version) {
                return Ok(false);
            }
            b.notices.remove(slo);
            Ok(true)
        })
    }
}
