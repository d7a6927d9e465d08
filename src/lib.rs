//! apigw-doctor explains Amazon API Gateway 504s.
//!
//! The folders are the layers, and data flows down this list and back up only
//! through return values:
//! - [`model`]: the shared vocabulary (findings, kinds and causes, routes,
//!   backends, limits, statistics, incident keys, backend runs); it imports
//!   nothing else of the crate;
//! - [`logs`]: bytes → log events ([`logs::envelope`], [`logs::input`]) → typed
//!   lines and records ([`logs::execution_log`], [`logs::access_log`],
//!   [`logs::function_log`]);
//! - [`engine`]: requests merged from their lines, routes, backends and limits,
//!   the [`engine::analysis`] that finds timeouts, near-limit requests and
//!   integration errors, and the [`engine::diagnosis`] of each;
//! - [`render`]: the CLI report, metric data and alerts, as plain data;
//! - [`monitor`]: one invocation (a batch or a schedule tick) as steps over small
//!   ports (state, lookups, metrics, notifiers), free of any runtime or SDK;
//! - [`aws`]: the only code that talks to AWS: the ports through the SDK clients;
//! - [`lambda`]: the function's settings and the monitor wired to the AWS adapters.
//!
//! Everything but [`monitor`] and [`aws`] is synchronous; only [`aws`] and [`lambda`]
//! know AWS types.
//! `tests/layers.rs` checks the direction of every import, circles between files and
//! the size of files and functions.

pub mod aws;
pub mod engine;
pub mod lambda;
pub mod logs;
pub mod model;
pub mod monitor;
pub mod render;
