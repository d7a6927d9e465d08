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

/// Seconds for limits: `29000` → `29 s`, `29500` → `29.5 s`.
pub fn seconds(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
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
    }
}
