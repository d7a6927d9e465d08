//! An in-memory recorder of what would be sent: the CLI's dry run and the tests read
//! it back. It implements both output ports.

use std::sync::Mutex;

use crate::monitor::outputs::{MetricsOut, Notifier, OutputFuture};
use crate::render::alert::Rendered;
use crate::render::metrics::{self, MetricBatch};

/// What a dry run would have sent.
#[derive(Debug, Clone)]
pub enum Published {
    Metrics(MetricBatch),
    Emf(Vec<String>),
    Alert(Rendered),
}

#[derive(Debug, Default)]
pub struct Recorder {
    recorded: Mutex<Vec<Published>>,
}

impl Recorder {
    fn push(&self, p: Published) {
        self.recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(p);
    }

    /// Takes what was recorded so far.
    pub fn take(&self) -> Vec<Published> {
        std::mem::take(&mut *self.recorded.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl MetricsOut for Recorder {
    fn put<'a>(&'a self, batch: &'a MetricBatch) -> OutputFuture<'a, usize> {
        self.push(Published::Metrics(batch.clone()));
        // The calls the API would have taken.
        let calls = metrics::pack(&batch.data).len();
        Box::pin(async move { Ok(calls) })
    }

    fn emf(&self, lines: Vec<String>) {
        self.push(Published::Emf(lines));
    }
}

impl Notifier for Recorder {
    fn name(&self) -> &'static str {
        "dry-run"
    }

    fn send<'a>(&'a self, alert: &'a Rendered) -> OutputFuture<'a, bool> {
        self.push(Published::Alert(alert.clone()));
        Box::pin(async { Ok(true) })
    }
}
