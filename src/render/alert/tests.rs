use super::*;

#[test]
fn slack_escaping_defuses_mentions_and_links_without_backslashes() {
    let s = slack("<!channel> <http://evil|click> @here *bold* `x` a_b & c\u{7}");
    assert!(!s.contains('<') && !s.contains('>'));
    assert!(!s.contains("@here"));
    assert!(!s.contains('\u{7}'));
    assert!(!s.contains('\\'), "Slack shows backslashes literally: {s}");
    assert!(s.contains("&lt;!channel&gt;") && s.contains("a_b") && s.contains("&amp; c"));
    assert_eq!(
        code("API-Gateway-Execution-Logs_a1/prod"),
        "`API-Gateway-Execution-Logs_a1/prod`"
    );
}

#[test]
fn subjects_are_one_short_line() {
    let s = subject_line(&format!("504 timeouts\non {}\r", "x".repeat(200)));
    assert!(s.chars().count() < 100);
    assert!(!s.chars().any(char::is_control));
}

#[test]
fn ids_are_stable() {
    assert_eq!(stable_id(&["a", "b"]), stable_id(&["a", "b"]));
    assert_ne!(stable_id(&["a", "b"]), stable_id(&["ab"]));
}

#[test]
fn insights_links_carry_the_time_range() {
    let u = insights_url(
        "us-east-1",
        "API-Gateway-Execution-Logs_a1/prod",
        "fields @message",
        1_795_600_800_000,
        1_795_601_100_000,
    );
    assert!(u.starts_with("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:logs-insights$3FqueryDetail$3D"));
    assert!(u.contains("~start~'2026-11-25T10*3A00*3A00.000Z~"), "{u}");
    assert!(!u.contains(' ') && !u.contains('"'));
}

#[test]
fn http_api_timeouts_say_503_and_routes_come_before_the_api() {
    use crate::engine::incidents::RouteCounts;
    use crate::model::incident::IncidentKey;
    let mut routes = BTreeMap::new();
    routes.insert(
        "GET /items".to_owned(),
        RouteCounts {
            requests: 10,
            affected: 8,
        },
    );
    let incident = Incident {
        id: "inc-1".into(),
        key: IncidentKey {
            account: None,
            api_id: "h1t2p3a4p5".into(),
            stage: "$default".into(),
            backend: None,
            kind: Kind::Timeout,
        },
        cause: Cause::IntegrationTimeout,
        severity: Severity::Critical,
        backend: None,
        status: Some(503),
        opened_at: 0,
        last_activity: 0,
        first_seen: None,
        last_seen: None,
        requests: 10,
        affected: 8,
        routes,
        log_group: String::new(),
        onset: None,
        notified_at: 0,
        notified_affected: 8,
        notified_routes: 1,
        version: 1,
    };
    let n = Notice {
        status: Status::Firing,
        incident: &incident,
        findings: Vec::new(),
        before: None,
        possibly_duplicate: false,
        now: 0,
        changes: crate::engine::changes::ChangeEvidence::NotConfigured,
    };
    assert_eq!(
        subject(&n, &AlertContext::default()),
        "[FIRING] 503 timeouts 8 of 10 (80%) GET /items · h1t2p3a4p5/$default"
    );
    let r = render(&n, &AlertContext::default());
    assert!(
        r.email.contains("8 of 10 requests (80%) timed out (503)"),
        "{}",
        r.email
    );
}
