//! The edge that talks to AWS through the SDK crates.

pub mod fetch;
pub mod publish;
pub mod state;
