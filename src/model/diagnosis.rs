//! A finding's diagnosis.

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Diagnosis {
    /// One sentence: what happened.
    pub headline: String,
    /// What the logs show, with evidence.
    pub shows: Vec<String>,
    /// What the logs cannot show, and where to look instead.
    pub cannot_show: Vec<String>,
    /// How the other requests of the route did.
    pub route_health: Option<String>,
    /// What to do, most useful first.
    pub remedies: Vec<String>,
    /// CloudWatch Logs Insights query that pulls the request's full trace.
    pub insights_query: Option<String>,
    /// Console link to the log events of the request.
    pub console_url: Option<String>,
}

impl Diagnosis {
    /// The diagnosis as one paragraph of prose (the JSON report's `diagnosis`).
    pub fn text(&self) -> String {
        let mut parts = vec![self.headline.clone()];
        parts.extend(self.shows.iter().cloned());
        parts.extend(self.cannot_show.iter().cloned());
        parts.extend(self.route_health.iter().cloned());
        parts.join(" ")
    }
}
