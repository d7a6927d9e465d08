//! What people and CloudWatch read: the CLI report, metric data and alerts.

pub mod alert;
pub mod display;
pub mod html;
pub mod markdown;
pub mod metrics;
pub mod report;
pub mod words;
