//! The Lambda function's edge: its settings from the environment ([`config`]), the
//! monitor wired to the AWS adapters ([`wiring`]), and what a failed invocation reports
//! ([`diagnostic`]). `src/bin/bootstrap.rs` hands each
//! runtime event to [`crate::monitor::Monitor::handle`].

pub mod config;
pub mod diagnostic;
pub mod wiring;
