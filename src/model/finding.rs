//! One request worth telling someone about, with its diagnosis and its backend run.

use crate::model::backend::Backend;
use crate::model::backend_run;
use crate::model::diagnosis::Diagnosis;
use crate::model::kind::{Cause, Kind};
use crate::model::limits::ApiKind;
use crate::model::provenance::Provenance;
use crate::model::route::Route;
use crate::model::stats::FunctionStats;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub cause: Cause,
    pub request_id: Option<String>,
    pub api_id: String,
    pub stage: String,
    pub route: Route,
    pub api_kind: ApiKind,
    pub status: Option<u16>,
    pub invoked: Option<bool>,
    pub integration_latency_ms: Option<u64>,
    /// From sending the request to the integration until giving up.
    pub elapsed_ms: Option<u64>,
    pub limit_ms: u64,
    pub backend: Option<Backend>,
    /// Epoch milliseconds of the request's first line we saw.
    pub timestamp: Option<i64>,
    /// Epoch milliseconds of when the answer (the 504) went out: the failure line, else
    /// the request's last line. Alerts show this time for a timeout.
    #[serde(skip)]
    pub ended_at: Option<i64>,
    pub lambda_request_id: Option<String>,
    pub xray_trace_id: Option<String>,
    /// Redacted failure text (error findings).
    pub detail: Option<String>,
    /// Misconfiguration: the function concerned and its runs.
    pub function: Option<FunctionStats>,
    pub provenance: Provenance,
    pub diagnosis: Diagnosis,
    /// The backend run that served the request and the wait's verdict (`backend_run`, `wait`).
    #[serde(flatten)]
    pub run: backend_run::Join,
}
