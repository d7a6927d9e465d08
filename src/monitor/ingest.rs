//! Step 1: the payload decoded and streamed into the engine, skipping the events this
//! container handled already (a redelivered batch) and documents from the function's
//! own log group.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::engine::analysis::Analyzer;
use crate::logs::envelope::{self, EnvelopeError};
use crate::monitor::seen_events::{self, SeenEvents};
use crate::monitor::Monitor;
use crate::render::alert;

/// Whether the payload is the schedule's tick rather than a log batch: an EventBridge
/// scheduled event, or `{"apigw-doctor": "resolve"}` (for a manual run).
pub fn is_schedule(event: &[u8]) -> bool {
    if event.len() > 16 * 1024 {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(event) else {
        return false;
    };
    v.get("detail-type").and_then(|d| d.as_str()) == Some("Scheduled Event")
        || matches!(
            v.get("source").and_then(|d| d.as_str()),
            Some("aws.events" | "aws.scheduler")
        )
        || v.get("apigw-doctor").and_then(|d| d.as_str()) == Some("resolve")
}

impl Monitor {
    /// Step 1: decode the payload and stream its events into the engine, under the
    /// warm state's lock (invocations of one container never overlap).
    pub(super) fn analyse(&self, event: &[u8], now: i64) -> Result<Streamed<'_>, EnvelopeError> {
        let cfg = &self.settings.ingest;
        let inflated = envelope::decode_lambda_event(event, cfg.max_decompressed_bytes)?;
        for i in &inflated {
            if i.trailing_garbage > 0 {
                tracing::warn!(origin = %i.origin, bytes = i.trailing_garbage, "ignored bytes after the last gzip member");
            }
        }
        let mut guard = self.lock();
        let st = &mut *guard;
        let earlier = st.pending.take(now);
        let mut feed = Feed {
            analyzer: Analyzer::new(&self.settings.engine).with_earlier(earlier.iter().cloned()),
            seen: &st.seen,
            now,
            own_log_group: cfg.own_log_group.as_deref(),
            ids: Vec::new(),
            duplicates: 0,
            skip_document: false,
            exec_groups: &mut st.exec_groups,
        };
        let streamed = inflated
            .iter()
            .try_for_each(|i| envelope::visit_documents(&i.bytes, &i.origin, &mut feed).map(drop));
        // The requests own what they keep: the batch's buffers can go before `finish`.
        drop(inflated);
        match streamed {
            Ok(()) => Ok(Streamed {
                analyzer: feed.analyzer,
                event_ids: feed.ids,
                earlier,
                duplicates: feed.duplicates,
            }),
            Err(e) => {
                // Nothing of a rejected batch counts; the partial requests wait on.
                st.pending.keep(earlier, now);
                Err(e)
            }
        }
    }
}

/// What step 1 streamed: the engine before `finish`, so that healing can feed it.
pub(super) struct Streamed<'c> {
    pub(super) analyzer: Analyzer<'c>,
    pub(super) event_ids: Vec<u64>,
    pub(super) earlier: Vec<crate::engine::request::Request>,
    pub(super) duplicates: u64,
}

/// Streams a batch's events into the engine, skipping events already handled (a
/// redelivered batch) and documents from this function's own log group.
struct Feed<'a, 'c> {
    analyzer: Analyzer<'c>,
    seen: &'a SeenEvents,
    now: i64,
    own_log_group: Option<&'a str>,
    ids: Vec<u64>,
    duplicates: u64,
    skip_document: bool,
    exec_groups: &'a mut HashSet<String>,
}

impl<'d> envelope::EventVisitor<'d> for Feed<'_, '_> {
    fn document(&mut self, header: &envelope::Header<'d>) {
        self.skip_document = self.own_log_group == Some(&*header.log_group);
        if header
            .log_group
            .starts_with(crate::logs::execution_log::GROUP_PREFIX)
            && !self.exec_groups.contains(&*header.log_group)
        {
            self.exec_groups.insert(header.log_group.to_string());
        }
        if self.skip_document {
            tracing::warn!(log_group = %header.log_group, "ignored a batch from this function's own log group: remove that subscription");
        } else {
            self.skip_document = !self.analyzer.start_document(header);
        }
    }

    fn event(&mut self, header: &envelope::Header<'d>, event: envelope::LogEvent<'d>) {
        if self.take(header, &event.id) {
            self.analyzer.add_log_event(header, &event);
        }
    }

    fn escaped_event(
        &mut self,
        header: &envelope::Header<'d>,
        id: Cow<'d, str>,
        ts: i64,
        escaped: &'d str,
    ) {
        if self.take(header, &id) {
            self.analyzer.add_escaped_event(header, &id, ts, escaped);
        }
    }

    fn event_in_place(
        &mut self,
        header: &envelope::Header<'d>,
        id: &str,
        ts: i64,
        rest: &'d str,
    ) -> Option<usize> {
        // Only an event the engine is to see; any other takes the usual way (`take`).
        let key = seen_events::key(&header.owner, id);
        if self.skip_document
            || self.own_log_group == Some(&*header.log_group)
            || key.is_some_and(|k| self.seen.contains(k, self.now))
        {
            return None;
        }
        let len = self.analyzer.add_access_in_place(header, id, ts, rest)?;
        self.ids.extend(key);
        Some(len)
    }
}

impl Feed<'_, '_> {
    /// Records the event's id; false when the engine is not to see it.
    fn take(&mut self, header: &envelope::Header<'_>, id: &str) -> bool {
        if self.own_log_group == Some(&*header.log_group) {
            return false;
        }
        // Kept as hashes (what `SeenEvents` remembers), not as copies of the ids.
        let key = seen_events::key(&header.owner, id);
        self.ids.extend(key);
        if self.skip_document {
            return false;
        }
        if key.is_some_and(|k| self.seen.contains(k, self.now)) {
            self.duplicates += 1;
            return false;
        }
        true
    }
}

/// Names a batch by its events (their [`seen_events::key`]s), for a retry in this container.
pub(super) fn batch_key(ids: &[u64]) -> String {
    let h = alert::fnv1a(ids.iter().flat_map(|k| k.to_le_bytes()));
    format!("batch-{h:016x}-{}", ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_ticks_are_told_from_log_batches() {
        assert!(is_schedule(
            br#"{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#
        ));
        assert!(is_schedule(br#"{"apigw-doctor":"resolve"}"#));
        assert!(!is_schedule(br#"{"awslogs":{"data":"H4sI"}}"#));
        assert!(!is_schedule(br#"{"Records":[]}"#));
        assert!(!is_schedule(b"not json"));
    }
}
