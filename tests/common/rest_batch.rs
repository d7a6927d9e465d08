//! REST execution-log lines (INFO level) of built requests, as subscription batches:
//! the handler tests' traffic.

/// The account of the built backends' ARNs.
pub const ACCOUNT: &str = "123456789012";

pub fn fn_uri(name: &str) -> String {
    format!("https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}/invocations")
}

/// Execution-log lines of REST requests (INFO level), as a subscription batch.
pub struct Batch {
    pub api: String,
    pub events: Vec<serde_json::Value>,
    pub serial: u64,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Outcome {
    Ok(u64),
    Timeout,
    /// A timeout after this many ms (an integration timeout below the default).
    TimeoutAfter(u64),
    Permissions,
}

impl Batch {
    pub fn new(api: &str, serial: u64) -> Batch {
        Batch {
            api: api.to_owned(),
            events: Vec::new(),
            serial,
        }
    }

    pub fn line(&mut self, ts: i64, rid: &str, text: &str) {
        let n = self.events.len();
        self.events.push(serde_json::json!({
            "id": format!("3{:05}{ts:020}{n:030}", self.serial),
            "timestamp": ts,
            "message": format!("({rid}) {text}"),
        }));
    }

    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &mut self,
        rid: &str,
        t: i64,
        method: &str,
        template: &str,
        path: &str,
        function: &str,
        outcome: Outcome,
    ) {
        let api = self.api.clone();
        let uri = fn_uri(function);
        self.line(
            t,
            rid,
            &format!("Verifying Usage Plan for request: {rid}. API Key:  API Stage: {api}/prod"),
        );
        self.line(t, rid, &format!("API Key authorized because method '{method} {template}' does not require API Key. Request will not contribute to throttle or quota limits"));
        self.line(t, rid, &format!("Starting execution for request: {rid}"));
        self.line(
            t,
            rid,
            &format!("HTTP Method: {method}, Resource Path: {path}"),
        );
        self.line(t + 1, rid, &format!("Endpoint request URI: {uri}"));
        self.line(t + 1, rid, &format!("Sending request to {uri}"));
        match outcome {
            Outcome::Ok(latency) => {
                let at = t + 1 + latency as i64;
                self.line(
                    at,
                    rid,
                    &format!("Received response. Status: 200, Integration latency: {latency} ms"),
                );
                self.line(at, rid, "Successfully completed execution");
                self.line(at, rid, "Method completed with status: 200");
            }
            Outcome::Timeout | Outcome::TimeoutAfter(_) => {
                let after = match outcome {
                    Outcome::TimeoutAfter(ms) => ms as i64,
                    _ => 29_003,
                };
                self.line(
                    t + 1 + after,
                    rid,
                    "Execution failed due to a timeout error",
                );
                self.line(t + 1 + after, rid, "Method completed with status: 504");
            }
            Outcome::Permissions => {
                self.line(t + 12, rid, "Execution failed due to configuration error: Invalid permissions on Lambda function");
                self.line(t + 12, rid, "Method completed with status: 500");
            }
        }
    }

    pub fn event(&self) -> Vec<u8> {
        super::subscription::lambda_event(
            &format!("API-Gateway-Execution-Logs_{}/prod", self.api),
            "6f1c2a3b4d5e6f708192a3b4c5d6e7f8",
            &self.events,
        )
    }
}

pub fn rid(n: u64) -> String {
    format!("5eed0000-0000-4000-8000-{n:012}")
}

/// Requests on `routes` (method, template, path; in turn) to a function API Gateway may
/// not invoke: every one fails with 500.
pub fn permissions(
    api: &str,
    routes: &[(&str, &str, &str)],
    function: &str,
    serial: u64,
    t0: i64,
    count: u64,
) -> Vec<u8> {
    let mut b = Batch::new(api, serial);
    for k in 0..count {
        let (m, tpl, path) = routes[k as usize % routes.len()];
        b.request(
            &rid(serial * 1000 + k),
            t0 + k as i64 * 200,
            m,
            tpl,
            path,
            function,
            Outcome::Permissions,
        );
    }
    b.event()
}
