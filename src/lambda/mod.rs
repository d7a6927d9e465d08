//! The Lambda function: one invocation, its settings, and what a warm container remembers.

pub mod config;
pub mod handler;
pub mod heal;
pub mod join;
pub mod pending;
pub mod seen_events;
