//! What the runtime reports when an invocation fails: an error type that says which
//! failure it was (not the Rust type name), so that the failure destination's record and
//! the function's error metrics tell a bad batch from a failed send.

use lambda_runtime::Diagnostic;

use crate::monitor::HandlerError;

pub fn diagnostic(e: &HandlerError) -> Diagnostic {
    Diagnostic {
        error_type: match e {
            // Retrying cannot help: the failure destination keeps the batch for inspection.
            HandlerError::Rejected(_) => "BatchRejected",
            // A retry may succeed (Lambda retries, then the failure destination).
            HandlerError::Publish(_) => "PublishFailed",
            HandlerError::ChangeNotRecorded(_) => "ChangeNotRecorded",
        }
        .to_owned(),
        error_message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::outputs::PublishError;

    #[test]
    fn the_failure_destination_is_told_which_failure() {
        let d = diagnostic(&HandlerError::Publish(PublishError::Deadline(
            "publish alerts",
        )));
        assert_eq!(d.error_type, "PublishFailed");
        assert_eq!(
            d.error_message,
            "the invocation's deadline is too close to publish alerts"
        );
    }
}
