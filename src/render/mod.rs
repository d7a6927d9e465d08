//! What people and CloudWatch read: the CLI report, metric data and alerts.

pub mod alert;
pub mod display;
pub mod drift;
pub mod html;
pub mod markdown;
pub mod metrics;
pub mod report;
pub mod words;
