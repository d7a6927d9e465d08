//! The edge that talks to AWS through the SDK crates.

pub mod lookup;
pub mod publish;
