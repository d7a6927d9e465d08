//! The edge that talks to AWS through the SDK crates.

pub mod publish;
pub mod state;
