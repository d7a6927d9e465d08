//! The shared vocabulary: what every layer above speaks of (findings, their kinds and
//! causes, routes, backends, limits, statistics, incident keys, backend runs, where a
//! log line came from). Plain data with the rules that belong to the data; it imports
//! nothing else of the crate.

pub mod backend;
pub mod backend_run;
pub mod change;
pub mod daily_latency;
pub mod diagnosis;
pub mod finding;
pub mod incident;
pub mod kind;
pub mod limits;
pub mod provenance;
pub mod route;
pub mod scope;
pub mod stats;
pub mod tally;
