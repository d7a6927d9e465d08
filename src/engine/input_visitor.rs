//! The CLI's inputs feed the analyzer: `logs::input` speaks to an [`InputVisitor`], and
//! the engine is one, so that the logs layer never names the engine.

use crate::engine::analysis::Analyzer;
use crate::logs::envelope::Source;
use crate::logs::input::InputVisitor;

impl InputVisitor for Analyzer<'_> {
    fn add_event(&mut self, src: Source<'_>, event_id: &str, ts: i64, message: &str) {
        Analyzer::add_event(self, src, event_id, ts, message);
    }
    fn add_execution_line(
        &mut self,
        src: Source<'_>,
        event_id: &str,
        request_id: &str,
        ts: i64,
        text: &str,
    ) {
        Analyzer::add_execution_line(self, src, event_id, request_id, ts, text);
    }
}
