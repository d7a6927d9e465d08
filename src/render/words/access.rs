//! The words for evidence in another account that could not be read (`model::diagnosis::NoAccess`),
//! shared by the early lines' sentence and the backend run's.

use crate::model::diagnosis::{NoAccess, Via};

/// Why another account's evidence could not be read, and what would let it be.
pub fn no_access(why: NoAccess) -> &'static str {
    match why {
        NoAccess::NotConfigured => "no cross-account access is configured: set CROSS_ACCOUNT_EVIDENCE to oam or role:NAME",
        NoAccess::Denied(Via::Oam) => "not shared: no OAM link from that account to this monitoring account shares the log group (or it does not exist there)",
        NoAccess::Denied(Via::Role) => "access denied: the role CROSS_ACCOUNT_EVIDENCE names is missing there, does not trust this function's role, or may not read the log group",
        NoAccess::TimedOut => "assuming the role there did not end before the invocation's deadline",
        NoAccess::AssumeFailed => "STS would not assume the role there (throttled, or the Region is not enabled there; the function's log has the error)",
    }
}
