//! apigw-doctor explains Amazon API Gateway 504s.
//!
//! The core is synchronous and free of AWS types: bytes are decoded
//! ([`envelope`], [`input`]), lines are typed ([`execution_log`], [`access_log`],
//! [`function_log`]) and merged per request ([`request`]), the [`analysis`] finds
//! timeouts, near-limit requests and integration errors ([`findings`]) and
//! [`diagnosis`] explains each one. [`report`] renders for the CLI. The Lambda
//! binary adds metrics, alerts and publishing around the same core.

pub mod access_log;
pub mod analysis;
pub mod backend;
pub mod diagnosis;
pub mod display;
pub mod envelope;
pub mod execution_log;
pub mod findings;
pub mod function_log;
pub mod input;
pub mod limits;
pub mod redact;
pub mod report;
pub mod request;
pub mod route;
