//! The edge that talks to AWS through the SDK crates.

pub mod backend_lookup;
pub mod fetch;
pub mod lookup;
pub mod publish;
pub mod state;
