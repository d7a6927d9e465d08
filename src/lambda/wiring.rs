//! The monitor's ports, chosen from the settings: DynamoDB when `INCIDENTS_TABLE` is set
//! (else this container's memory), CloudWatch Logs lookups unless `LOG_LOOKUP=off`,
//! CloudWatch metrics, the SNS topic (no topic: logged only) and the pagers whose key
//! parameter is set; a dry run records what
//! would be sent instead.

use std::sync::Arc;

use crate::aws::cross_account::evidence_lookup;
use crate::aws::publish::cloudwatch::CloudWatchMetrics;
use crate::aws::publish::output_config;
use crate::aws::publish::pager::opsgenie::OpsgenieNotifier;
use crate::aws::publish::pager::pagerduty::PagerDutyNotifier;
use crate::aws::publish::pager::{http_client, Key, KeySource};
use crate::aws::publish::sns::SnsNotifier;
use crate::aws::secrets::ssm_client;
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
    let mut notifiers = vec![notifier];
    notifiers.extend(pagers(config, shared));
    let mut ports = Ports {
        metrics: Arc::new(CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(
            &outputs,
        ))),
        notifiers,
        ..Ports::in_memory(recorder)
    };
    if let Some(table) = &config.incidents_table {
        let store = Arc::new(dynamo_store(shared, table));
        if config.change_events {
            ports = ports.with_changes(Some(store.clone()));
        }
        ports = ports.with_shared_state(store);
    }
    if !config.drift.digest {
        ports = ports.with_daily_latency(None);
    }
    // Other accounts' groups as CROSS_ACCOUNT_EVIDENCE says (off: the finding says where).
    let lookup = || evidence_lookup(shared, &config.cross_account_evidence);
    ports.with_lookup(config.log_lookup.then(lookup))
}

/// The pagers whose key parameter is set, after SNS (best effort: a failed page is
/// counted, the SNS alert still goes). Each key is read from SSM at init, in the
/// background, and cached.
pub fn pagers(config: &Config, shared: &aws_config::SdkConfig) -> Vec<Arc<dyn Notifier>> {
    let p = &config.pagers;
    let mut out: Vec<Arc<dyn Notifier>> = Vec::new();
    if p.pagerduty_key_parameter.is_none() && p.opsgenie_key_parameter.is_none() {
        return out;
    }
    let (ssm, http) = (ssm_client(shared), http_client());
    let key = |name: &String| {
        let k = Key::new(KeySource::Ssm {
            client: ssm.clone(),
            name: name.clone(),
        });
        k.warm();
        k
    };
    if let Some(name) = &p.pagerduty_key_parameter {
        out.push(Arc::new(PagerDutyNotifier::new(
            http.clone(),
            &p.pagerduty_events_url,
            key(name),
        )));
    }
    if let Some(name) = &p.opsgenie_key_parameter {
        out.push(Arc::new(OpsgenieNotifier::new(
            http,
            &p.opsgenie_api_url,
            key(name),
        )));
    }
    out
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
