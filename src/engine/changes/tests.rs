use super::*;
use crate::model::change::ChangeDetail;

const ONSET: i64 = 1_796_000_000_000;
const MIN: i64 = 60_000;

fn api_change(id: &str, name: &str, minutes_before: i64, api: &str, stage: Option<&str>) -> Change {
    Change {
        event_id: id.to_owned(),
        event_name: name.to_owned(),
        action: ChangeAction::of_event_name(name).unwrap(),
        event_time: ONSET - minutes_before * MIN,
        event_source: "apigateway.amazonaws.com".to_owned(),
        account: Some("111122223333".to_owned()),
        region: Some("eu-west-1".to_owned()),
        target: ChangeTarget::Api {
            api_id: api.to_owned(),
            stage: stage.map(str::to_owned),
            resource_id: None,
            http_method: None,
            integration_id: None,
            route_id: None,
        },
        actor: Some("arn:aws:iam::111122223333:user/alice".to_owned()),
        invoked_by: None,
        details: Vec::new(),
    }
}

fn function_change(id: &str, name: &str, minutes_before: i64, field: &str, after: &str) -> Change {
    Change {
        event_source: "lambda.amazonaws.com".to_owned(),
        target: ChangeTarget::Function {
            name: "orders-api-handler".to_owned(),
            qualifier: None,
        },
        details: vec![detail(field, after)],
        ..api_change(id, name, minutes_before, "-", None)
    }
}

fn detail(field: &str, after: &str) -> ChangeDetail {
    ChangeDetail {
        field: field.to_owned(),
        before: None,
        after: Some(after.to_owned()),
    }
}

fn timeout_scope(observed_ms: u64) -> Scope<'static> {
    Scope {
        account: Some("111122223333"),
        api_id: "a1b2c3d4e5",
        stage: "prod",
        function: Some("orders-api-handler"),
        kind: Kind::Timeout,
        cause: Cause::IntegrationTimeout,
        onset: ONSET,
        observed_ms: Some(observed_ms),
        limit_ms: 29_000,
    }
}

fn names(r: &[RelatedChange]) -> Vec<&str> {
    r.iter().map(|r| r.change.event_id.as_str()).collect()
}

#[test]
fn a_lowered_integration_timeout_ranks_first_and_other_apis_stay_out() {
    let mut put = api_change("put", "PutIntegration", 2 * 24 * 60, "a1b2c3d4e5", None);
    put.details = vec![detail("timeoutInMillis", "29000")];
    let mut lowered = api_change("lowered", "UpdateIntegration", 4, "a1b2c3d4e5", None);
    lowered.details = vec![detail("timeoutInMillis", "5000")];
    let deploy = api_change("deploy", "CreateDeployment", 2, "a1b2c3d4e5", Some("prod"));
    let other_api = api_change("other", "UpdateStage", 1, "z9y8x7w6v5", Some("prod"));
    let other_stage = api_change("dev", "UpdateStage", 1, "a1b2c3d4e5", Some("dev"));
    let mut changes = vec![other_api, deploy, lowered, other_stage, put];
    settle(&mut changes);
    let related = relate(&timeout_scope(5_004), &changes, DEFAULT_WINDOW_MS);
    assert_eq!(names(&related), ["lowered", "deploy"]);
    let first = &related[0];
    assert_eq!(first.rank, 1);
    assert_eq!(first.explains, Some(Explains::IntegrationTimeoutLowered));
    assert_eq!(first.relation, Relation::Integration);
    assert_eq!(first.before_onset_ms, 4 * MIN);
    let d = first.change.detail("timeoutInMillis").unwrap();
    assert_eq!(
        (d.before.as_deref(), d.after.as_deref()),
        (Some("29000"), Some("5000"))
    );
    assert_eq!(related[1].explains, None);
}

#[test]
fn without_a_before_value_a_timeout_under_the_limit_that_the_requests_hit_explains() {
    let mut lowered = api_change("lowered", "UpdateIntegration", 10, "a1b2c3d4e5", None);
    lowered.details = vec![detail("timeoutInMillis", "5000")];
    let related = relate(&timeout_scope(5_004), &[lowered.clone()], DEFAULT_WINDOW_MS);
    assert_eq!(
        related[0].explains,
        Some(Explains::IntegrationTimeoutLowered)
    );
    // The requests ran 29 s: a 5 s setting is not what they hit.
    let related = relate(&timeout_scope(29_004), &[lowered], DEFAULT_WINDOW_MS);
    assert_eq!(related[0].explains, None);
}

#[test]
fn the_window_bounds_the_search_and_later_changes_never_relate() {
    let old = api_change("old", "CreateDeployment", 61, "a1b2c3d4e5", Some("prod"));
    let after = api_change("after", "CreateDeployment", -1, "a1b2c3d4e5", Some("prod"));
    let at = api_change("at", "CreateDeployment", 0, "a1b2c3d4e5", Some("prod"));
    let related = relate(&timeout_scope(29_004), &[old, after, at], DEFAULT_WINDOW_MS);
    assert_eq!(names(&related), ["at"]);
    assert!(relate(&timeout_scope(29_004), &[], DEFAULT_WINDOW_MS).is_empty());
}

#[test]
fn another_accounts_change_to_the_same_api_id_is_not_related() {
    let mut c = api_change("x", "CreateDeployment", 3, "a1b2c3d4e5", Some("prod"));
    c.account = Some("444455556666".to_owned());
    assert!(relate(&timeout_scope(29_004), &[c], DEFAULT_WINDOW_MS).is_empty());
}

#[test]
fn function_changes_relate_by_name_and_explain_what_they_lowered() {
    let mut memory = function_change(
        "mem",
        "UpdateFunctionConfiguration20150331v2",
        20,
        "memorySize",
        "512",
    );
    memory.details[0].before = Some("1024".to_owned());
    let code = function_change(
        "code",
        "UpdateFunctionCode20150331v2",
        5,
        "codeSha256",
        "abc",
    );
    let mut elsewhere = code.clone();
    elsewhere.event_id = "elsewhere".to_owned();
    elsewhere.target = ChangeTarget::Function {
        name: "billing".to_owned(),
        qualifier: None,
    };
    let related = relate(
        &timeout_scope(29_004),
        &[code, memory, elsewhere],
        DEFAULT_WINDOW_MS,
    );
    assert_eq!(names(&related), ["mem", "code"]);
    assert_eq!(related[0].explains, Some(Explains::FunctionMemoryLowered));
    assert_eq!(related[0].relation, Relation::Function);
}

#[test]
fn low_reserved_concurrency_explains_throttles_and_zero_explains_any_failure() {
    let five = function_change(
        "five",
        "PutFunctionConcurrency20171031",
        3,
        "reservedConcurrentExecutions",
        "5",
    );
    let zero = function_change(
        "zero",
        "PutFunctionConcurrency20171031",
        3,
        "reservedConcurrentExecutions",
        "0",
    );
    let throttled = Scope {
        kind: Kind::Error,
        cause: Cause::LambdaThrottled,
        ..timeout_scope(0)
    };
    let failing = Scope {
        kind: Kind::Error,
        cause: Cause::FunctionError,
        ..timeout_scope(0)
    };
    let explains_of = |s: &Scope<'_>, c: &Change| {
        relate(s, std::slice::from_ref(c), DEFAULT_WINDOW_MS)[0].explains
    };
    assert_eq!(
        explains_of(&throttled, &five),
        Some(Explains::ConcurrencyCapped)
    );
    assert_eq!(explains_of(&failing, &five), None);
    assert_eq!(
        explains_of(&failing, &zero),
        Some(Explains::ConcurrencyCapped)
    );
}

#[test]
fn settle_drops_a_repeated_event_and_fills_before_from_the_same_resource_only() {
    let mut a = function_change(
        "a",
        "UpdateFunctionConfiguration20150331v2",
        30,
        "timeout",
        "30",
    );
    a.details.push(detail("memorySize", "1024"));
    let mut b = function_change(
        "b",
        "UpdateFunctionConfiguration20150331v2",
        10,
        "timeout",
        "6",
    );
    b.details.push(detail("memorySize", "1024"));
    let mut other = function_change(
        "o",
        "UpdateFunctionConfiguration20150331v2",
        20,
        "timeout",
        "900",
    );
    other.target = ChangeTarget::Function {
        name: "billing".to_owned(),
        qualifier: None,
    };
    let mut changes = vec![b.clone(), a, other, b];
    settle(&mut changes);
    assert_eq!(names_of(&changes), ["a", "o", "b"]);
    let b = &changes[2];
    assert_eq!(b.detail("timeout").unwrap().before.as_deref(), Some("30"));
    assert_eq!(
        b.detail("memorySize").unwrap().before.as_deref(),
        Some("1024")
    );
    let related = relate(&timeout_scope(6_000), &changes, DEFAULT_WINDOW_MS);
    assert_eq!(related[0].change.event_id, "b");
    assert_eq!(related[0].explains, Some(Explains::FunctionTimeoutLowered));
}

fn names_of(c: &[Change]) -> Vec<&str> {
    c.iter().map(|c| c.event_id.as_str()).collect()
}
