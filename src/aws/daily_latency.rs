//! The daily latency histograms (`monitor::state::DailyLatencyStore`) in the state
//! table (`INCIDENTS_TABLE`):
//!
//! - `pk = "latency#<UTC day, YYYY-MM-DD>"`, so that the digest reads every route of a
//!   day with one Query (14 for its 14 days) and no index of the routes;
//! - `sk = "<account>#<api id>#<stage>#<route>"` (`-`: no account in the logs; the
//!   first three never hold `#`, the route may);
//! - `timeouts` and one number `b<bucket>` per latency bucket, each added with `ADD`
//!   (two containers' counts of one day add up); `limit_ms` (the last writer's, the
//!   same for every request of a route but for a changed setting) and `expires_at`
//!   (16 days) set.
//!
//! An UpdateExpression may hold 4 KB: a row is written in UpdateItems of at most
//! [`BUCKETS_PER_UPDATE`] buckets. Idempotence comes from the batch claims: the counts
//! are added once per batch, after its alerts went out.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::state::{n, s, DynamoStore};
use crate::engine::daily_latency::RouteDay;
use crate::model::daily_latency::DayLatency;
use crate::monitor::state::{DailyLatencyStore, StateError, StateFuture, DAY_TTL_SECS};
use crate::render::drift::date;

/// Buckets one UpdateItem adds: `b1234 :v99, ` is 12 characters, so 100 of them and
/// the SET clause stay far under the 4 KB expression limit.
pub const BUCKETS_PER_UPDATE: usize = 100;

fn pk(day: i64) -> String {
    format!("latency#{}", date(day))
}

fn sk(r: &RouteDay) -> String {
    format!("{}#{}#{}#{}", r.account, r.api_id, r.stage, r.route)
}

/// The UpdateExpressions of one row: (expression, values), the first with the SET and
/// the timeouts. Pure, so that the 4 KB bound is tested without a table.
pub fn updates(r: &RouteDay, expires_at: i64) -> Vec<(String, Vec<(String, AttributeValue)>)> {
    let l = &r.latency;
    let mut out = Vec::new();
    let chunks: Vec<&[(u32, u64)]> = if l.buckets.is_empty() {
        vec![&[]]
    } else {
        l.buckets.chunks(BUCKETS_PER_UPDATE).collect()
    };
    for (k, chunk) in chunks.into_iter().enumerate() {
        let mut adds = Vec::new();
        let mut values = Vec::new();
        if k == 0 && l.timeouts > 0 {
            adds.push("timeouts :t".to_owned());
            values.push((":t".to_owned(), n(l.timeouts.min(i64::MAX as u64) as i64)));
        }
        for (i, &(b, c)) in chunk.iter().enumerate() {
            adds.push(format!("b{b} :v{i}"));
            values.push((format!(":v{i}"), n(c.min(i64::MAX as u64) as i64)));
        }
        let mut expr = String::new();
        if k == 0 {
            expr.push_str("SET limit_ms = :limit, expires_at = :exp");
            values.push((
                ":limit".to_owned(),
                n(l.limit_ms.min(i64::MAX as u64) as i64),
            ));
            values.push((":exp".to_owned(), n(expires_at)));
        }
        if !adds.is_empty() {
            if !expr.is_empty() {
                expr.push(' ');
            }
            expr.push_str("ADD ");
            expr.push_str(&adds.join(", "));
        }
        if !expr.is_empty() {
            out.push((expr, values));
        }
    }
    out
}

/// One stored item back as a row; `None`: not a latency item.
fn decode(day: i64, item: &HashMap<String, AttributeValue>) -> Option<RouteDay> {
    let key = item.get("sk")?.as_s().ok()?;
    let mut parts = key.splitn(4, '#');
    let (account, api_id, stage, route) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let num = |v: &AttributeValue| v.as_n().ok().and_then(|x| x.parse::<u64>().ok());
    let mut latency = DayLatency::new(day, item.get("limit_ms").and_then(num).unwrap_or(0));
    latency.timeouts = item.get("timeouts").and_then(num).unwrap_or(0);
    for (name, v) in item {
        if let (Some(b), Some(c)) = (
            name.strip_prefix('b').and_then(|b| b.parse::<u32>().ok()),
            num(v),
        ) {
            latency.add_bucket(b, c);
        }
    }
    Some(RouteDay {
        account: account.to_owned(),
        api_id: api_id.to_owned(),
        stage: stage.to_owned(),
        route: route.to_owned(),
        latency,
    })
}

impl DailyLatencyStore for DynamoStore {
    fn add<'a>(&'a self, rows: &'a [RouteDay], now: i64) -> StateFuture<'a, ()> {
        Box::pin(async move {
            let mut first_error: Option<StateError> = None;
            for r in rows {
                for (expr, values) in updates(r, now / 1000 + DAY_TTL_SECS) {
                    let res = self
                        .client()
                        .update_item()
                        .table_name(self.table())
                        .key("pk", s(pk(r.latency.day)))
                        .key("sk", s(sk(r)))
                        .update_expression(expr)
                        .set_expression_attribute_values(Some(values.into_iter().collect()))
                        .send()
                        .await;
                    if let Err(e) = res {
                        // The other rows still count: one error is reported.
                        first_error.get_or_insert(self.err("UpdateItem (daily latency)", &e));
                    }
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }

    fn days(&self, first: i64, last: i64) -> StateFuture<'_, Vec<RouteDay>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for day in first..=last {
                let items = self.query_range(&pk(day), None).await?;
                out.extend(items.iter().filter_map(|i| decode(day, i)));
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wide_day_is_written_in_updates_under_4_kb() {
        let mut latency = DayLatency::new(20_782, 29_000);
        for b in 0..1_000 {
            latency.add_bucket(b, u64::from(b) + 1);
        }
        latency.timeouts = 3;
        let r = RouteDay {
            account: "123456789012".into(),
            api_id: "a1b2c3d4e5".into(),
            stage: "prod".into(),
            route: "GET /a#b".into(),
            latency,
        };
        let u = updates(&r, 1);
        assert_eq!(u.len(), 10);
        assert!(u.iter().all(|(e, _)| e.len() < 4096), "{}", u[1].0.len());
        assert!(u[0]
            .0
            .starts_with("SET limit_ms = :limit, expires_at = :exp ADD timeouts :t, b0 :v0"));
        // Read back: every bucket once, the route with its `#`.
        let mut item: HashMap<String, AttributeValue> = HashMap::new();
        item.insert("sk".into(), s(sk(&r)));
        for (_, values) in &u {
            for (name, v) in values {
                let attr = match name.as_str() {
                    ":limit" => "limit_ms".to_owned(),
                    ":t" => "timeouts".to_owned(),
                    ":exp" => "expires_at".to_owned(),
                    _ => continue,
                };
                item.insert(attr, v.clone());
            }
        }
        for &(b, c) in &r.latency.buckets {
            item.insert(format!("b{b}"), n(c as i64));
        }
        assert_eq!(decode(20_782, &item), Some(r));
        assert_eq!(pk(20_782), "latency#2026-11-25");
    }

    #[test]
    fn an_empty_row_sets_only_its_limit() {
        let r = RouteDay {
            account: "-".into(),
            api_id: "a".into(),
            stage: "s".into(),
            route: "GET /".into(),
            latency: DayLatency::new(1, 29_000),
        };
        let u = updates(&r, 1);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].0, "SET limit_ms = :limit, expires_at = :exp");
    }
}
