//! [`BudgetStore`] in the state table. Items (partition `pk`, sort `sk`):
//! - per SLO, route and hour: `pk = "slo#<SLO key>"`, `sk = "h#<13-digit hour ms>#<route>"`,
//!   one pair of numbers per minute (`m05t`, `m05b`: requests and bad ones in minute 05),
//!   added with `ADD` (atomic, so K containers count exactly), `expires_at` 4 days on;
//! - per SLO and day: `sk = "d#<13-digit day ms>"`, `t` and `b`, kept for the period;
//! - the index of SLOs: `pk = "slos"`, `sk = <SLO key>`, `body` (the key as JSON),
//!   `first` and `last` minute counted;
//! - the open notices: `pk = "budget-notice"`, `sk = <SLO key>`, `body`, `version`.
//!
//! One batch writes one item per (SLO, route, hour) it holds, one per (SLO, day) and one
//! index item per SLO; the tick reads, per SLO, its hours of the last 3 days (one Query,
//! 72 items per route), its days (one Query) and its index item.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::state::{n, s, DynamoStore};
use crate::engine::budget::{BudgetNotice, SloCounts};
use crate::engine::burn::Tally;
use crate::engine::slo::SloKey;
use crate::monitor::budget::{BudgetStore, SloCount};
use crate::monitor::state::{StateError, StateFuture};

const HOUR_MS: i64 = 3600 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The hour items outlive the longest window (3 days) by a day.
const HOUR_TTL_SECS: i64 = 4 * 24 * 3600;
const NOTICE_PK: &str = "budget-notice";
const INDEX_PK: &str = "slos";
/// Route names come from logs: a sort key holds at most 1,024 bytes.
const MAX_ROUTE_BYTES: usize = 512;

fn pk(slo: &SloKey) -> String {
    format!("slo#{}", slo.store_key())
}

fn route_part(route: &str) -> &str {
    let mut end = route.len().min(MAX_ROUTE_BYTES);
    while !route.is_char_boundary(end) {
        end -= 1;
    }
    &route[..end]
}

fn num(item: &HashMap<String, AttributeValue>, k: &str) -> Option<i64> {
    item.get(k)?.as_n().ok()?.parse().ok()
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, k: &str) -> Option<&'a str> {
    item.get(k)?.as_s().ok().map(String::as_str)
}

impl DynamoStore {
    fn corrupt(&self, key: &str, message: impl Into<String>) -> StateError {
        StateError::Corrupt {
            table: self.table().to_owned(),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    async fn add(
        &self,
        pk: String,
        sk: String,
        adds: &[(String, u64)],
        sets: &[(&str, AttributeValue)],
    ) -> Result<(), StateError> {
        let mut req = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(pk))
            .key("sk", s(sk));
        let mut add = Vec::new();
        for (i, (name, v)) in adds.iter().enumerate() {
            add.push(format!("#a{i} :a{i}"));
            req = req
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":a{i}"), n(*v as i64));
        }
        let mut set = Vec::new();
        for (i, (name, v)) in sets.iter().enumerate() {
            let expr = if *name == "first" {
                format!("#s{i} = if_not_exists(#s{i}, :s{i})")
            } else {
                format!("#s{i} = :s{i}")
            };
            set.push(expr);
            req = req
                .expression_attribute_names(format!("#s{i}"), *name)
                .expression_attribute_values(format!(":s{i}"), v.clone());
        }
        let mut expr = format!("ADD {}", add.join(", "));
        if !set.is_empty() {
            expr.push_str(&format!(" SET {}", set.join(", ")));
        }
        req.update_expression(expr)
            .send()
            .await
            .map_err(|e| self.err("UpdateItem", &e))?;
        Ok(())
    }

    fn decode_notice(
        &self,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<BudgetNotice, StateError> {
        let key = text(item, "sk").unwrap_or_default();
        let body = text(item, "body").ok_or_else(|| self.corrupt(key, "no `body` string"))?;
        let mut notice: BudgetNotice =
            serde_json::from_str(body).map_err(|e| self.corrupt(key, e.to_string()))?;
        if let Some(v) = num(item, "version") {
            notice.version = v as u64;
        }
        Ok(notice)
    }
}

/// The batch's counts grouped per hour item, day item and SLO.
type HourItems = BTreeMap<(String, String), (i64, Vec<(String, u64)>)>;
type DayItems = BTreeMap<(String, String), (Tally, i64)>;
type IndexItems = BTreeMap<SloKey, (i64, i64)>;

fn group(counts: &[SloCount]) -> (HourItems, DayItems, IndexItems) {
    let mut hours: HourItems = BTreeMap::new();
    let mut days: DayItems = BTreeMap::new();
    let mut index: IndexItems = BTreeMap::new();
    for c in counts {
        let hour = c.minute.div_euclid(HOUR_MS) * HOUR_MS;
        let mm = (c.minute - hour) / 60_000;
        let e = hours
            .entry((pk(&c.slo), format!("h#{hour:013}#{}", route_part(&c.route))))
            .or_insert((hour, Vec::new()));
        e.1.push((format!("m{mm:02}t"), c.tally.total));
        e.1.push((format!("m{mm:02}b"), c.tally.bad));
        let day = c.minute.div_euclid(DAY_MS) * DAY_MS;
        let d = days
            .entry((pk(&c.slo), format!("d#{day:013}")))
            .or_insert((Tally::default(), day + c.period_ms + 2 * DAY_MS));
        d.0.add(c.tally);
        let i = index.entry(c.slo.clone()).or_insert((c.minute, c.minute));
        i.0 = i.0.min(c.minute);
        i.1 = i.1.max(c.minute);
    }
    (hours, days, index)
}

/// How many UpdateItem requests [`BudgetStore::add_counts`] makes for `counts` (one per
/// hour item, day item and SLO index entry): what a batch's budget counting costs.
pub fn writes(counts: &[SloCount]) -> usize {
    let (hours, days, index) = group(counts);
    hours.len() + days.len() + index.len()
}

impl BudgetStore for DynamoStore {
    fn add_counts<'a>(&'a self, counts: &'a [SloCount]) -> StateFuture<'a, ()> {
        Box::pin(async move {
            let (hours, days, index) = group(counts);
            for ((pk, sk), (hour, mut adds)) in hours {
                // The same minute twice in one batch (two route spellings cut alike): one ADD each.
                adds.sort();
                adds.dedup_by(|b, a| {
                    let same = a.0 == b.0;
                    if same {
                        a.1 += b.1;
                    }
                    same
                });
                let expires = n(hour / 1000 + HOUR_TTL_SECS);
                self.add(pk, sk, &adds, &[("expires_at", expires)]).await?;
            }
            for ((pk, sk), (t, expires_ms)) in days {
                let adds = [("t".to_owned(), t.total), ("b".to_owned(), t.bad)];
                self.add(pk, sk, &adds, &[("expires_at", n(expires_ms / 1000))])
                    .await?;
            }
            for (slo, (first, last)) in index {
                let body = serde_json::to_string(&slo)
                    .map_err(|e| self.corrupt(&slo.store_key(), e.to_string()))?;
                let sets = [
                    ("body", s(body)),
                    ("last", n(last)),
                    ("first", n(first)),
                    ("expires_at", n(last / 1000 + HOUR_TTL_SECS)),
                ];
                self.add(
                    INDEX_PK.to_owned(),
                    slo.store_key(),
                    &[("batches".to_owned(), 1)],
                    &sets,
                )
                .await?;
            }
            Ok(())
        })
    }

    fn active_slos(&self, since: i64) -> StateFuture<'_, Vec<SloKey>> {
        Box::pin(async move {
            let items = self.query_range(INDEX_PK, None).await?;
            let mut out = Vec::new();
            for item in items {
                if num(&item, "last").is_none_or(|l| l < since) {
                    continue;
                }
                match text(&item, "body").map(serde_json::from_str::<SloKey>) {
                    Some(Ok(k)) => out.push(k),
                    _ => tracing::warn!(
                        sk = text(&item, "sk").unwrap_or_default(),
                        "skipped an unreadable SLO index item"
                    ),
                }
            }
            Ok(out)
        })
    }

    fn slo_counts<'a>(
        &'a self,
        slo: &'a SloKey,
        since: i64,
        days_since: i64,
    ) -> StateFuture<'a, SloCounts> {
        Box::pin(async move {
            let pk = pk(slo);
            let from_hour = since.div_euclid(HOUR_MS) * HOUR_MS;
            let mut counts = SloCounts::default();
            for item in self
                .query_range(&pk, Some((&format!("h#{from_hour:013}"), "h#~")))
                .await?
            {
                // `h#<13 digits>#<route>`
                let Some(sk) = text(&item, "sk") else {
                    continue;
                };
                let Some(hour) = sk.get(2..15).and_then(|h| h.parse::<i64>().ok()) else {
                    continue;
                };
                let route = sk.get(16..).unwrap_or_default().to_owned();
                let series = counts.routes.entry(route).or_default();
                for mm in 0..60 {
                    let minute = hour + mm * 60_000;
                    let total = num(&item, &format!("m{mm:02}t")).unwrap_or(0);
                    if total <= 0 || minute < since {
                        continue;
                    }
                    let bad = num(&item, &format!("m{mm:02}b")).unwrap_or(0);
                    series.entry(minute).or_default().add(Tally {
                        total: total as u64,
                        bad: bad.max(0) as u64,
                    });
                }
            }
            let from_day = days_since.div_euclid(DAY_MS) * DAY_MS;
            for item in self
                .query_range(&pk, Some((&format!("d#{from_day:013}"), "d#~")))
                .await?
            {
                let Some(day) = text(&item, "sk").and_then(|k| k.get(2..15)?.parse().ok()) else {
                    continue;
                };
                let t = Tally {
                    total: num(&item, "t").unwrap_or(0).max(0) as u64,
                    bad: num(&item, "b").unwrap_or(0).max(0) as u64,
                };
                counts.days.insert(day, t);
            }
            let index = self
                .query_range(INDEX_PK, Some((&slo.store_key(), &slo.store_key())))
                .await?;
            counts.first_minute = index.first().and_then(|i| num(i, "first"));
            Ok(counts)
        })
    }

    fn open_notices(&self) -> StateFuture<'_, Vec<BudgetNotice>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for item in self.query_range(NOTICE_PK, None).await? {
                match self.decode_notice(&item) {
                    Ok(n) => out.push(n),
                    Err(e) => tracing::warn!(error = %e, "skipped an unreadable budget notice"),
                }
            }
            Ok(out)
        })
    }

    fn put_notice<'a>(&'a self, next: &'a BudgetNotice, expected: u64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let key = next.slo.store_key();
            let body =
                serde_json::to_string(next).map_err(|e| self.corrupt(&key, e.to_string()))?;
            let req = self
                .client()
                .put_item()
                .table_name(self.table())
                .item("pk", s(NOTICE_PK))
                .item("sk", s(&key))
                .item("version", n(next.version as i64))
                .item("notice_id", s(&next.id))
                .item("body", s(body));
            self.put_over_version(req, expected).await
        })
    }

    fn remove_notice<'a>(&'a self, slo: &'a SloKey, version: u64) -> StateFuture<'a, bool> {
        Box::pin(async move {
            self.delete_at_version(NOTICE_PK, &slo.store_key(), version)
                .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_item_per_slo_route_and_hour() {
        let slo = SloKey {
            account: None,
            api_id: "a".into(),
            stage: "p".into(),
            route: None,
        };
        let c = |route: &str, minute: i64| SloCount {
            slo: slo.clone(),
            route: route.into(),
            minute,
            tally: Tally { total: 2, bad: 1 },
            period_ms: 30 * DAY_MS,
        };
        let counts = [
            c("GET /", 0),
            c("GET /", 60_000),
            c("GET /", HOUR_MS),
            c("POST /", 0),
        ];
        let (hours, days, index) = group(&counts);
        assert_eq!(hours.len(), 3);
        let first = &hours[&("slo#-#a#p".to_owned(), "h#0000000000000#GET /".to_owned())];
        assert_eq!(
            first.1,
            [
                ("m00t".to_owned(), 2),
                ("m00b".to_owned(), 1),
                ("m01t".to_owned(), 2),
                ("m01b".to_owned(), 1)
            ]
        );
        assert_eq!(days.len(), 1);
        assert_eq!(days.values().next().unwrap().0, Tally { total: 8, bad: 4 });
        assert_eq!(index[&slo], (0, HOUR_MS));
    }
}
