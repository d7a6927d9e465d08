//! The AWS Chatbot / Amazon Q Developer custom notification (Slack): mrkdwn escaped by its own rules.

use super::*;

pub(super) fn emoji(status: Status, severity: Severity) -> &'static str {
    match (status, severity) {
        (Status::Resolved, _) => ":white_check_mark:",
        (_, Severity::Critical) => ":rotating_light:",
        (_, Severity::Error) => ":red_circle:",
        (_, Severity::Warning) => ":warning:",
        (_, Severity::Info) => ":information_source:",
    }
}

pub(super) fn chatbot_json(
    n: &Notice<'_>,
    ctx: &AlertContext,
    subject: &str,
    links: &[Link],
    examples_n: usize,
) -> serde_json::Value {
    let i = n.incident;
    let (what, _, cause) = triage(n, ctx);
    let mut d = String::new();
    let _ = write!(d, "{}", slack(&what));
    let routes = routes_by_impact(i);
    let route_codes: Vec<String> = routes
        .iter()
        .take(5)
        .map(|(r, req, aff)| format!("{} {}", code(r), crate::render::display::rate(*aff, *req)))
        .collect();
    let _ = write!(
        d,
        "\n*Where:* {}{} on {} stage {}",
        route_codes.join(", "),
        if routes.len() > 5 {
            format!(" and {} more", routes.len() - 5)
        } else {
            String::new()
        },
        match ctx.api_name(i.key.account.as_deref(), &i.key.api_id) {
            Some(name) => format!("{} {}", slack(name), code(&i.key.api_id)),
            None => code(&i.key.api_id),
        },
        code(&i.key.stage)
    );
    if let Some(b) = &i.backend {
        let _ = write!(
            d,
            "\n*Backend:* {}",
            match b {
                Backend::Lambda { function_name, .. } =>
                    format!("Lambda function {}", code(function_name)),
                Backend::AwsService { service, .. } => format!("AWS service {}", code(service)),
                Backend::Http { url } => format!("HTTP {}", code(url)),
                Backend::PrivateHttp { url, target } => format!("{} {}", target.label(), code(url)),
            }
        );
    }
    let _ = write!(d, "\n*{}", slack(&cause).replacen(':', ":*", 1));
    if let Some(line) = super::changes::chatbot_line(n, ctx) {
        d.push_str(&line);
    }
    let shown = examples(&n.findings);
    let shown = &shown[..examples_n.min(shown.len())];
    for (k, (f, facts)) in shown.iter().zip(facts_once(shown)).enumerate() {
        let facts: Vec<String> = facts
            .into_iter()
            .map(|(k, v)| match k {
                "error" | "Lambda request" | "X-Ray trace" => format!("{k} {}", code(&v)),
                _ => format!("{k} {}", slack(&v)),
            })
            .collect();
        let _ = write!(
            d,
            "\n• {} {} on {}: {}",
            match (k, n.status) {
                (0, Status::Firing) => "Onset",
                (0, _) => "First in this batch",
                _ => "Worst",
            },
            code(f.request_id.as_deref().unwrap_or("-")),
            code(f.route.as_str()),
            facts.join(" · ")
        );
    }
    // Evidence in another account that could not be read: said once, whatever the example.
    let mut unread: Vec<String> = Vec::new();
    for f in shown {
        for s in crate::render::words::diagnosis::not_readable(f) {
            if !unread.contains(&s) {
                unread.push(s);
            }
        }
    }
    for s in &unread {
        let _ = write!(d, "\n*Not readable:* {}", slack(s));
    }
    if !links.is_empty() {
        let l: Vec<String> = links.iter().map(|l| slack_link(&l.href, &l.text)).collect();
        let _ = write!(d, "\n*Check:* {}", l.join(" · "));
    }
    // Chatbot shows these as "Next steps": they are what to do once the incident is under
    // control, so each says so; the triage checks are the links above.
    let prefix = match i.key.kind {
        Kind::Timeout | Kind::NearLimit => "Afterwards: ",
        Kind::Error | Kind::Misconfiguration => "To fix: ",
    };
    let next: Vec<String> = afterwards(n)
        .iter()
        .take(4)
        .map(|r| format!("{prefix}{}", slack(r)))
        .collect();
    let mut related: Vec<String> = Vec::new();
    if let Some(Backend::Lambda { function_arn, .. }) = &i.backend {
        related.push(plain(function_arn));
    }
    serde_json::json!({
        "version": "1.0",
        "source": "custom",
        "id": format!("{}-{}-{}", i.id, n.status.as_str(), i.version),
        "content": {
            "textType": "client-markdown",
            "title": format!(
                "{} [{} · {}] {}",
                emoji(n.status, i.severity),
                status_word(n.status),
                i.severity.as_str(),
                slack(subject.split_once("] ").map_or(subject, |(_, s)| s))
            ),
            "description": d,
            "nextSteps": next,
            "keywords": [i.severity.as_str(), i.key.kind.as_str(), i.cause.as_str(), n.status.as_str()],
        },
        "metadata": {
            "threadId": i.id,
            "summary": slack(subject),
            "eventType": n.status.as_str(),
            "relatedResources": related,
            "additionalContext": {
                "incidentId": i.id,
                "status": n.status.as_str(),
                "severity": i.severity.as_str(),
                "apiId": plain(&i.key.api_id),
                "stage": plain(&i.key.stage),
                "backend": plain(i.key.backend.as_deref().unwrap_or("")),
                "affected": i.affected.to_string(),
                "requests": i.requests.to_string(),
            },
        },
    })
}
