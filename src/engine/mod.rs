//! The engine: requests merged from their lines, classified into findings and
//! diagnosed. Plain functions on data.

pub mod analysis;
pub mod backend_run;
pub mod budget;
pub mod burn;
pub mod changes;
pub mod config;
pub mod daily_latency;
pub mod diagnosis;
pub mod drift;
pub mod findings;
pub mod finish;
pub mod incidents;
pub mod input_visitor;
pub mod orphans;
pub mod request;
pub mod requests;
pub mod route_traffic;
pub mod select;
pub mod slo;
pub mod timeline;
