//! Step 1b: the evidence, under one budget and deadline. Split requests are joined
//! through the shared state and healed from their log group (their early lines
//! fetched back; no lock held while waiting), the analysis finishes, and the backend
//! runs of timeouts are looked up within what healing left.

use std::time::{Duration, Instant};

use crate::engine::analysis::Analysis;
use crate::monitor::ingest::Streamed;
use crate::monitor::{backend_runs, heal, join, Monitor, WarmState};

impl Monitor {
    /// Step 1b: split requests joined through the state table and healed (their early
    /// lines fetched back; no lock held while waiting), the analysis finished, backend
    /// runs of timeouts looked up within what healing left.
    pub(super) async fn complete(
        &self,
        s: Streamed<'_>,
        deadline: Option<Instant>,
        now: i64,
    ) -> Analysed {
        let cfg = &self.settings.evidence;
        let Streamed {
            mut analyzer,
            event_ids,
            earlier,
            duplicates,
        } = s;
        let halves = self.ports.halves.as_deref().filter(|_| cfg.split_join);
        let joining = if let Some(halves) = halves {
            // Taken, not copied: invocations of one container never overlap.
            let mut written = std::mem::take(&mut self.lock().starts_written);
            let (joining, newly) = join::join(&mut analyzer, halves, &written, deadline, now).await;
            written.extend(newly);
            self.lock().starts_written = written;
            joining
        } else {
            join::Joining::default()
        };
        let subscribed = self.lock().exec_groups.clone();
        let bounds = heal::Bounds {
            budget: cfg.log_lookups_max,
            until: lookups_until(deadline),
            limits: &self.settings.engine.limits,
            subscribed: &subscribed,
            own_account: self.own_account(),
        };
        let lookup = self.ports.lookup.as_ref();
        let healing = heal::heal(&mut analyzer, lookup, &event_ids, bounds).await;
        let (mut analysis, pending) = analyzer.finish();
        healing.annotate(&mut analysis);
        let backend_lookups = backend_runs::look_up(
            &mut analysis.findings,
            lookup,
            backend_runs::Allowed {
                functions: &cfg.backend_function_names,
                own_account: self.own_account(),
            },
            cfg.log_lookups_max.saturating_sub(healing.lookups),
            lookups_until(deadline),
        )
        .await;
        {
            let mut st = self.lock();
            st.pending.keep(pending, now);
            // Only the requests still waiting need to remember that their start is written.
            let WarmState {
                pending,
                starts_written,
                ..
            } = &mut *st;
            if !starts_written.is_empty() {
                starts_written.retain(|id| pending.contains(id));
            }
        }
        Analysed {
            analysis,
            event_ids,
            earlier,
            duplicates,
            healing,
            joining,
            backend_lookups,
        }
    }
}

/// What step 1b hands on.
pub(super) struct Analysed {
    pub(super) analysis: Analysis,
    pub(super) event_ids: Vec<u64>,
    pub(super) earlier: Vec<crate::engine::request::Request>,
    pub(super) duplicates: u64,
    pub(super) healing: heal::Healing,
    pub(super) joining: join::Joining,
    pub(super) backend_lookups: backend_runs::BackendLookups,
}

/// Lookups end this long before the deadline: publishing comes after them.
const LOOKUP_RESERVE: Duration = Duration::from_secs(10);
/// Without a deadline (tests, an emulator), lookups get this long.
const LOOKUP_DEFAULT: Duration = Duration::from_secs(10);

pub(super) fn lookups_until(deadline: Option<Instant>) -> Option<Instant> {
    Some(match deadline {
        None => Instant::now() + LOOKUP_DEFAULT,
        Some(d) => d.checked_sub(LOOKUP_RESERVE).unwrap_or_else(Instant::now),
    })
}
