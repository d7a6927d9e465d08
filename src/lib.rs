//! apigw-doctor explains Amazon API Gateway 504s.
//!
//! The core is synchronous and free of AWS types: bytes are decoded
//! ([`envelope`], [`input`]), lines are typed ([`execution_log`], [`access_log`],
//! [`function_log`]) and merged per request ([`request`]), the [`analysis`] finds
//! timeouts, near-limit requests and integration errors ([`findings`]) and
//! [`diagnosis`] explains each one. [`report`] renders for the CLI. The Lambda
//! binary adds [`metrics`] and [`alert`] (pure renderings), the warm container's
//! memory ([`pending`], [`seen_events`]) and [`publish`] (the only code that sends
//! anything), sequenced by [`handler`].

pub mod access_log;
pub mod alert;
pub mod analysis;
pub mod backend;
pub mod config;
pub mod diagnosis;
pub mod display;
pub mod envelope;
pub mod execution_log;
pub mod findings;
pub mod function_log;
pub mod handler;
pub mod input;
pub mod limits;
pub mod metrics;
pub mod pending;
pub mod publish;
pub mod redact;
pub mod report;
pub mod request;
pub mod route;
pub mod seen_events;
