//! The monitor's ports, chosen from the settings: DynamoDB when `INCIDENTS_TABLE` is set
//! (else this container's memory), CloudWatch Logs lookups unless `LOG_LOOKUP=off`,
//! CloudWatch metrics, the SNS topic (no topic: logged only); a dry run records what
//! would be sent instead.

use std::sync::Arc;

use crate::aws::lookup::cloudwatch_lookup;
use crate::aws::publish::cloudwatch::CloudWatchMetrics;
use crate::aws::publish::output_config;
use crate::aws::publish::sns::SnsNotifier;
use crate::aws::state::dynamo_store;
use crate::lambda::config::Config;
use crate::monitor::lookup::LogLookup;
use crate::monitor::outputs::{LogOnly, Notifier};
use crate::monitor::recorder::{Published, Recorder};
use crate::monitor::state::MemoryStore;
use crate::monitor::{Monitor, Ports};

/// The ports for `config`: through `shared` (the process's SDK configuration) or, with
/// none (a dry run), in memory with `recorder` keeping what would be sent.
pub fn ports(
    config: &Config,
    shared: Option<&aws_config::SdkConfig>,
    recorder: &Arc<Recorder>,
) -> Ports {
    let Some(shared) = shared else {
        return Ports::in_memory(recorder);
    };
    let outputs = output_config(shared);
    let notifier: Arc<dyn Notifier> = match &config.alert_topic_arn {
        Some(topic) => Arc::new(SnsNotifier::new(aws_sdk_sns::Client::new(&outputs), topic)),
        None => Arc::new(LogOnly),
    };
    let mut ports = Ports {
        metrics: Arc::new(CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(
            &outputs,
        ))),
        notifiers: vec![notifier],
        ..Ports::in_memory(recorder)
    };
    if let Some(table) = &config.incidents_table {
        let store = Arc::new(dynamo_store(shared, table));
        if config.change_events {
            ports = ports.with_changes(Some(store.clone()));
        }
        ports = ports.with_shared_state(store);
    }
    ports.with_lookup(config.log_lookup.then(|| cloudwatch_lookup(shared)))
}

/// The monitor for `config`, as the Lambda runs it.
pub fn monitor(
    config: &Config,
    shared: Option<&aws_config::SdkConfig>,
    recorder: &Arc<Recorder>,
) -> Monitor {
    Monitor::new(config.settings(), ports(config, shared, recorder))
}

/// A monitor in this process whose outputs are recorded (the CLI's dry run, tests,
/// simulations of many containers). It derefs to the [`Monitor`].
pub struct Recorded {
    pub monitor: Monitor,
    pub recorder: Arc<Recorder>,
    log_lookup: bool,
}

impl Recorded {
    /// Its own memory as state.
    pub fn new(config: &Config) -> Recorded {
        let recorder = Arc::new(Recorder::default());
        let ports = Ports::in_memory(&recorder);
        Recorded::with_ports(config, ports, recorder)
    }

    /// State shared with the other monitors given the same `store`, as containers share
    /// the DynamoDB table.
    pub fn shared(config: &Config, store: &Arc<MemoryStore>) -> Recorded {
        let recorder = Arc::new(Recorder::default());
        let ports = Ports::shared_memory(store, &recorder);
        Recorded::with_ports(config, ports, recorder)
    }

    /// Other ports (a real store, say), outputs still recorded in `recorder`.
    pub fn with_ports(config: &Config, ports: Ports, recorder: Arc<Recorder>) -> Recorded {
        Recorded {
            monitor: Monitor::new(config.settings(), ports),
            recorder,
            log_lookup: config.log_lookup,
        }
    }

    /// Looks split requests and backend runs up through `lookup`, unless `LOG_LOOKUP=off`.
    pub fn with_lookup(mut self, lookup: Arc<dyn LogLookup>) -> Recorded {
        self.monitor = self.monitor.with_lookup(self.log_lookup.then_some(lookup));
        self
    }

    /// Takes what was recorded so far.
    pub fn take(&self) -> Vec<Published> {
        self.recorder.take()
    }
}

impl std::ops::Deref for Recorded {
    type Target = Monitor;
    fn deref(&self) -> &Monitor {
        &self.monitor
    }
}
