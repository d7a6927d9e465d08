//! Logs Insights results: the `get-query-results` JSON, the console's JSON and CSV exports.

use super::*;

/// An Insights result row's timestamp: `2024-05-01 10:00:00.000` (UTC), RFC 3339, or epoch ms.
pub(super) fn insights_time(v: &str) -> i64 {
    let v = v.trim();
    if let Ok(n) = v.parse::<i64>() {
        return n;
    }
    leading_timestamp(v).map_or(0, |(ts, _)| ts)
}

/// `@log` is `ACCOUNT:LOG_GROUP`.
pub(super) fn insights_group(v: &str) -> &str {
    v.split_once(':').map_or(v, |(_, g)| g)
}

pub(super) fn insights_row(
    fields: &[(&str, &str)],
    i: usize,
    source: Source<'_>,
    analyzer: &mut Windowed<'_, impl InputVisitor>,
) -> bool {
    let get = |k: &str| fields.iter().find(|(f, _)| *f == k).map(|(_, v)| *v);
    let Some(message) = get("@message") else {
        return false;
    };
    let src = Source {
        log_group: get("@log").map_or(source.log_group, insights_group),
        log_stream: get("@logStream").unwrap_or(source.log_stream),
    };
    let ts = get("@timestamp").map_or(0, insights_time);
    let id = get("@ptr").map_or_else(|| format!("row:{}", i + 1), str::to_owned);
    analyzer.add_event(src, &id, ts, message.trim_end_matches(['\n', '\r']));
    true
}

#[derive(Deserialize)]
pub(super) struct InsightsField<'a> {
    #[serde(borrow)]
    field: Cow<'a, str>,
    #[serde(borrow)]
    value: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum InsightsDoc<'a> {
    /// `aws logs get-query-results`: rows of {field, value}.
    Query {
        #[serde(borrow)]
        results: Vec<Vec<InsightsField<'a>>>,
    },
    /// The same rows without the envelope.
    Rows(#[serde(borrow)] Vec<Vec<InsightsField<'a>>>),
    /// The console's JSON export: one object per row.
    Objects(#[serde(borrow)] Vec<std::collections::BTreeMap<Cow<'a, str>, serde_json::Value>>),
}

pub(super) fn feed_insights_json(
    body: &str,
    name: &str,
    source: Source<'_>,
    analyzer: &mut Windowed<'_, impl InputVisitor>,
) -> Result<(), InputError> {
    let doc: InsightsDoc<'_> = serde_json::from_str(body.trim()).map_err(|e| {
        InputError::Json(
            name.to_owned(),
            format!("Logs Insights results with an @message field were expected: {e}"),
        )
    })?;
    match doc {
        InsightsDoc::Query { results: rows } | InsightsDoc::Rows(rows) => {
            for (i, row) in rows.iter().enumerate() {
                let fields: Vec<(&str, &str)> =
                    row.iter().map(|f| (&*f.field, &*f.value)).collect();
                if !insights_row(&fields, i, source, analyzer) {
                    analyzer.visitor.add_event(source, "row", 0, "");
                }
            }
        }
        InsightsDoc::Objects(rows) => {
            for (i, row) in rows.iter().enumerate() {
                let texts: Vec<(&str, String)> = row
                    .iter()
                    .map(|(k, v)| {
                        (
                            &**k,
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect();
                let fields: Vec<(&str, &str)> =
                    texts.iter().map(|(k, v)| (*k, v.as_str())).collect();
                if !insights_row(&fields, i, source, analyzer) {
                    analyzer.visitor.add_event(source, "row", 0, "");
                }
            }
        }
    }
    Ok(())
}

/// RFC 4180 CSV: quoted fields may hold commas, `""` and newlines.
pub(super) fn csv_records(text: &str, sep: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
        } else if c == '"' && field.is_empty() {
            quoted = true;
        } else if c == sep {
            row.push(std::mem::take(&mut field));
        } else if c == '\n' {
            row.push(std::mem::take(&mut field));
            rows.push(std::mem::take(&mut row));
        } else if c != '\r' {
            field.push(c);
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

pub(super) fn feed_insights_csv(
    body: &str,
    name: &str,
    source: Source<'_>,
    analyzer: &mut Windowed<'_, impl InputVisitor>,
) -> Result<(), InputError> {
    let first = body.lines().next().unwrap_or("");
    let sep = if first.contains('\t') && !first.contains(',') {
        '\t'
    } else {
        ','
    };
    let mut rows = csv_records(body, sep).into_iter();
    let head = rows.next().unwrap_or_default();
    if !head.iter().any(|h| h.trim() == "@message") {
        return Err(InputError::Json(
            name.to_owned(),
            "a Logs Insights CSV export with an @message column was expected".into(),
        ));
    }
    for (i, row) in rows.enumerate() {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let fields: Vec<(&str, &str)> = head
            .iter()
            .map(|h| h.trim())
            .zip(row.iter().map(String::as_str))
            .collect();
        if !insights_row(&fields, i, source, analyzer) {
            analyzer.visitor.add_event(source, "row", 0, "");
        }
    }
    Ok(())
}
