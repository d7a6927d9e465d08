//! The Lambda function's edge: its settings from the environment ([`config`]) and the
//! monitor wired to the AWS adapters ([`wiring`]). `src/bin/bootstrap.rs` hands each
//! runtime event to [`crate::monitor::Monitor::handle`].

pub mod config;
pub mod wiring;
