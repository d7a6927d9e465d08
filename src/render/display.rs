//! How numbers and times are written for people: `29,003 ms`, `2026-11-25 10:10:12.345Z`.

/// `29003` → `29,003`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn ms(n: u64) -> String {
    format!("{} ms", thousands(n))
}

/// Epoch milliseconds as UTC, to the millisecond.
pub fn time(epoch_ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(epoch_ms) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string(),
        None => format!("{epoch_ms} (epoch ms)"),
    }
}

/// Epoch milliseconds as RFC 3339 UTC, to the millisecond (the JSON renderings).
pub fn rfc3339(ms: Option<i64>) -> Option<String> {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Seconds for limits: `29000` → `29 s`, `29500` → `29.5 s`.
pub fn seconds(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// A share as people read it: `80 of 100 (80%)`, the one style of every rendering. The
/// percentage never rounds a part to 0% or to 100% unless it is none or all.
pub fn rate(part: u64, whole: u64) -> String {
    rate_of(part, whole, "")
}

/// [`rate`] with what is counted: `80 of 100 requests (80%)`.
pub fn rate_of(part: u64, whole: u64, what: &str) -> String {
    let what = if what.is_empty() {
        String::new()
    } else {
        format!(" {what}")
    };
    format!(
        "{} of {}{what} ({})",
        thousands(part),
        thousands(whole),
        percent(part, whole)
    )
}

/// `part` of `whole` in percent, rounded, never 0% for some nor 100% for not all.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    let p = (u128::from(part) * 100 + u128::from(whole) / 2) / u128::from(whole);
    match p {
        0 if part > 0 => "<1%".to_owned(),
        100 if part < whole => ">99%".to_owned(),
        p => format!("{p}%"),
    }
}

/// A latency that may be censored: `232 ms`, or `≥ 29,000 ms` when the value is only
/// known to be at least that (it falls among timeouts, which stopped at the limit).
pub fn censored_ms(value_ms: u64, at_least: bool) -> String {
    if at_least {
        format!("≥ {}", ms(value_ms))
    } else {
        ms(value_ms)
    }
}

/// `text (n=120)`: the sample size beside a statistic.
pub fn with_n(text: &str, n: u64) -> String {
    format!("{text} (n={})", thousands(n))
}

/// `lambda throttled` → `Lambda throttled`.
pub fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(29003), "29,003");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(time(1_551_194_973_732), "2019-02-26 15:29:33.732Z");
        assert_eq!(seconds(29_000), "29 s");
        assert_eq!(seconds(29_500), "29.5 s");
        assert_eq!(capitalised("lambda throttled"), "Lambda throttled");
        assert_eq!(capitalised(""), "");
        assert_eq!(rate(80, 100), "80 of 100 (80%)");
        assert_eq!(rate(1, 1000), "1 of 1,000 (<1%)");
        assert_eq!(rate(999, 1000), "999 of 1,000 (>99%)");
        assert_eq!(rate(0, 5), "0 of 5 (0%)");
        assert_eq!(rate(2, 3), "2 of 3 (67%)");
        assert_eq!(rate_of(3, 1200, "requests"), "3 of 1,200 requests (<1%)");
        assert_eq!(percent(1, 0), "-");
        assert_eq!(censored_ms(29_000, true), "≥ 29,000 ms");
        assert_eq!(censored_ms(232, false), "232 ms");
        assert_eq!(with_n("p95 ≥ 29,000 ms", 100), "p95 ≥ 29,000 ms (n=100)");
    }
}
