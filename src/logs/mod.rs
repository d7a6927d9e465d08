//! From bytes to typed log lines: the Lambda's envelopes and the CLI's files,
//! then one parser per log kind.

pub mod access_log;
pub mod cloudtrail;
pub mod envelope;
pub mod execution_log;
pub mod function_log;
pub mod input;
pub mod redact;
