#!/usr/bin/env python3
"""Pins template.yaml's promises, so that a later edit cannot quietly widen permissions
or drop the failure path. Run by `make template` with the project's .venv (PyYAML).
Prints `N passed, N failed` last."""
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
T = yaml.safe_load(open(os.path.join(ROOT, "template.yaml")))
# Fn::ForEach loops (subscriptions, lookup policies) are lists; the plain resources are the rest.
LOOPS = {k: v for k, v in T["Resources"].items() if k.startswith("Fn::ForEach::")}
R = {k: v for k, v in T["Resources"].items() if k not in LOOPS}
P = T["Parameters"]
results = []


def test(fn):
    try:
        fn()
        results.append(None)
        print(f"ok   {fn.__name__}")
    except AssertionError as e:
        results.append(e)
        print(f"FAIL {fn.__name__}: {e}")
    return fn


def json_dump(x):
    import json
    return json.dumps(x)


def ref(name):
    return {"Ref": name}


def when_on(x):
    """A conditional policy or statement (`Fn::If: [condition, it, AWS::NoValue]`) as it is when on."""
    if isinstance(x, dict) and "Fn::If" in x:
        cond, it, off = x["Fn::If"]
        assert off == ref("AWS::NoValue"), x
        return it
    return x


def function():
    return R["Function"]["Properties"]


@test
def function_runtime_build_and_logging():
    f = R["Function"]
    p = f["Properties"]
    assert f["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert p["Runtime"] == "provided.al2023" and p["Architectures"] == ["arm64"] and p["Handler"] == "bootstrap"
    assert p["MemorySize"] == ref("MemorySize") and P["MemorySize"]["Default"] == 128
    assert p["Timeout"] == 60
    assert p["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": ref("FunctionLogGroup")}
    lg = R["FunctionLogGroup"]["Properties"]
    assert lg["RetentionInDays"] == ref("LogRetentionDays")
    assert lg["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}"}
    assert p["FunctionName"] == ref("AWS::StackName")


@test
def every_engine_setting_is_a_parameter_with_the_codes_default():
    src = open(os.path.join(ROOT, "src", "lambda", "config.rs")).read()
    table = re.findall(r'\(\s*"([A-Z_]+)",\s*"((?:[^"\\]|\\.)*)",', src.split("pub const SETTINGS")[1].split("];")[0])
    assert len(table) >= 14, table
    env = function()["Environment"]["Variables"]
    for name, default in table:
        if name == "BACKEND_FUNCTION_NAMES":
            assert env[name] == {"Fn::Join": [",", ref("BackendFunctionNames")]}
            continue
        if name == "ALERT_TOPIC_ARN":
            assert env[name] == ref("AlertTopic")
            continue
        if name == "INCIDENTS_TABLE":
            assert env[name] == ref("IncidentsTable")
            continue
        assert name in env, f"{name} is not passed to the function"
        param = env[name]["Ref"]
        assert str(P[param]["Default"]) == default, f"{param} default {P[param]['Default']!r} != code {default!r}"


@test
def incidents_table_on_demand_ttl_pitr_encrypted():
    t = R["IncidentsTable"]
    p = t["Properties"]
    assert t["Type"] == "AWS::DynamoDB::Table"
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert p["SSESpecification"]["SSEEnabled"] is True
    keys = {k["AttributeName"]: k["KeyType"] for k in p["KeySchema"]}
    assert keys == {"pk": "HASH", "sk": "RANGE"}, keys


@test
def a_schedule_resolves_quiet_incidents():
    ev = function()["Events"]["ResolveSchedule"]
    assert ev["Type"] == "Schedule" and ev["Properties"]["Schedule"] == "rate(1 minute)"


@test
def one_subscription_per_log_group_never_the_functions_own():
    loop = LOOPS["Fn::ForEach::Subscriptions"]
    assert loop[0] == "GroupName" and loop[1] == ref("ApiLogGroupNames")
    (name, sub), = loop[2].items()
    assert "&{GroupName}" in name
    assert sub["Type"] == "AWS::Logs::SubscriptionFilter" and sub["Properties"]["LogGroupName"] == ref("GroupName")
    assert sub["Properties"]["DestinationArn"] == {"Fn::GetAtt": ["Function", "Arn"]}
    # Each filter after the invoke permission: CloudWatch Logs tests the invoke when it creates the filter.
    assert sub["DependsOn"] == "SubscriptionPermission"
    perm = R["SubscriptionPermission"]
    assert perm["Type"] == "AWS::Lambda::Permission" and perm["Properties"]["Principal"] == "logs.amazonaws.com"
    # CloudWatch Logs of this account and region only (the filters choose the groups).
    assert perm["Properties"]["SourceAccount"] == ref("AWS::AccountId")
    assert perm["Properties"]["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}
    # `sam build`/`sam deploy` refuse a loop inside the function's Events.
    assert not any(k.startswith("Fn::ForEach") for k in function().get("Events", {}))
    assert "Default" not in P["ApiLogGroupNames"], "at least one group must be given"
    for r in R.values():
        if r["Type"] == "AWS::Logs::SubscriptionFilter":
            assert r["Properties"]["LogGroupName"] != ref("FunctionLogGroup")


@test
def lookups_only_on_the_watched_groups():
    loop = LOOPS["Fn::ForEach::LookupPolicies"]
    assert loop[0] == "GroupName" and loop[1] == ref("ApiLogGroupNames")
    (name, pol), = loop[2].items()
    assert "&{GroupName}" in name and pol["Type"] == "AWS::IAM::Policy"
    assert pol["Properties"]["Roles"] == [ref("FunctionRole")]
    (st,) = pol["Properties"]["PolicyDocument"]["Statement"]
    assert st["Effect"] == "Allow" and st["Action"] == "logs:FilterLogEvents"
    arns = [r["Fn::Sub"] for r in st["Resource"]]
    group = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${GroupName}"
    assert arns == [group, group + ":*"], arns
    # No other statement of the role may read logs.
    role = json_dump(R["FunctionRole"])
    assert "FilterLogEvents" not in role and "logs:Get" not in role


@test
def kinesis_is_optional():
    k = R["KinesisSource"]
    # KinesisStreamArn, or the central mode's own stream (central_account_* below).
    assert k["Condition"] == "ReadsStream", k.get("Condition")
    assert T["Conditions"]["ReadsStream"] == {"Fn::Or": [{"Condition": "HasKinesis"}, {"Condition": "IsCentral"}]}
    assert k["Properties"]["EventSourceArn"] == {
        "Fn::If": ["IsCentral", {"Fn::GetAtt": ["CentralStream", "Arn"]}, ref("KinesisStreamArn")]}
    assert k["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    # Order is kept per partition key (a log stream, with Distribution: ByLogStream) whatever the factor.
    assert k["Properties"]["ParallelizationFactor"] == ref("KinesisParallelization")
    assert 1 <= P["KinesisParallelization"]["Default"] <= 10


@test
def alerts_topic_encrypted_email_and_slack_optional():
    assert R["AlertTopic"]["Properties"]["KmsMasterKeyId"] == ref("AlertsKey")
    assert R["AlertsKey"]["Properties"]["EnableKeyRotation"] is True
    sub = R["AlertEmailSubscription"]
    assert sub["Condition"] == "HasEmail" and sub["Properties"]["Protocol"] == "email"
    slack = R["SlackChannel"]
    assert slack["Type"] == "AWS::Chatbot::SlackChannelConfiguration" and slack["Condition"] == "HasSlack"
    topics = slack["Properties"]["SnsTopicArns"]["Fn::If"]
    assert topics == ["AlarmsSubscribed", [ref("AlertTopic"), ref("AlarmTopic")], [ref("AlertTopic")]], topics
    assert slack["Properties"]["GuardrailPolicies"], "a guardrail policy"
    assert R["ChatbotRole"]["Condition"] == "HasSlack"
    assert "HasEmail" in T["Conditions"] and "HasSlack" in T["Conditions"]


@test
def failure_path():
    cfg = function()["EventInvokeConfig"]
    assert cfg["MaximumRetryAttempts"] == 2
    assert cfg["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]}}
    q = R["FailureQueue"]["Properties"]
    assert q["MessageRetentionPeriod"] == 14 * 24 * 3600 and q["SqsManagedSseEnabled"] is True


@test
def least_privilege():
    role = R["FunctionRole"]["Properties"]
    assert "ManagedPolicyArns" not in role, "no managed policies (AWSLambdaBasicExecutionRole has logs:* on *)"
    assert function()["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    actions = {}
    for pol in map(when_on, role["Policies"]):
        for st in map(when_on, pol["PolicyDocument"]["Statement"]):
            assert st["Effect"] == "Allow"
            acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            for a in acts:
                assert "*" not in a, f"wildcard action {a}"
                actions[a] = st
            if st["Resource"] == "*":
                assert acts == ["cloudwatch:PutMetricData"], f"Resource * only for PutMetricData, not {acts}"
                assert st["Condition"] == {"StringEquals": {"cloudwatch:namespace": ref("MetricsNamespace")}}
    assert actions["sns:Publish"]["Resource"] == ref("AlertTopic")
    assert actions["logs:PutLogEvents"]["Resource"] == {"Fn::Sub": "${FunctionLogGroup.Arn}"}
    assert actions["sqs:SendMessage"]["Resource"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    assert actions["kms:GenerateDataKey"]["Resource"] == {"Fn::GetAtt": ["AlertsKey", "Arn"]}
    table = {"Fn::GetAtt": ["IncidentsTable", "Arn"]}
    for a in ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]:
        assert actions[a]["Resource"] == table, a
    assert set(actions) == {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query",
        "logs:CreateLogStream", "logs:PutLogEvents", "cloudwatch:PutMetricData", "sns:Publish", "kms:GenerateDataKey",
        "kms:Decrypt", "sqs:SendMessage", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:SubscribeToShard",
        "ssm:GetParameter",
    }, sorted(actions)
    # The function reads exactly the stream its mapping reads: the central stream, or KinesisStreamArn.
    kin = actions["kinesis:GetRecords"]["Resource"]["Fn::If"]
    assert kin[0] == "IsCentral" and kin[1] == {"Fn::GetAtt": ["CentralStream", "Arn"]}, kin
    inner = kin[2]["Fn::If"]
    assert inner[0] == "HasKinesis" and inner[1] == ref("KinesisStreamArn"), inner
    assert inner[2]["Fn::Sub"].endswith(":stream/no-stream-configured"), inner


@test
def alarms_notify_their_own_topic_and_resolve():
    alarms = {k: v["Properties"] for k, v in R.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {"TimeoutsAlarm", "NearLimitAlarm", "FunctionErrorsAlarm", "FunctionThrottlesAlarm", "FailureQueueAlarm",
                           "PagerDutyFailuresAlarm", "OpsgenieFailuresAlarm"}
    for name, a in alarms.items():
        assert a["AlarmActions"] == [ref("AlarmTopic")], name
        assert a["OKActions"] == [ref("AlarmTopic")], name
    assert R["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == ref("AlertsKey")
    assert R["AlarmEmailSubscription"]["Condition"] == "HasEmailForAlarms"
    assert P["SubscribeToAlarms"]["Default"] == "false"
    assert "IntegrationTimeouts" in alarms["TimeoutsAlarm"]["Metrics"][0]["Expression"]["Fn::Sub"]
    assert alarms["TimeoutsAlarm"]["Threshold"] == 0 and alarms["TimeoutsAlarm"]["Metrics"][0]["Period"] == 60
    assert alarms["NearLimitAlarm"]["Threshold"] == ref("NearLimitAlarmThreshold")
    assert alarms["FunctionErrorsAlarm"]["MetricName"] == "Errors"
    assert alarms["FunctionThrottlesAlarm"]["MetricName"] == "Throttles"
    assert alarms["FailureQueueAlarm"]["MetricName"] == "ApproximateNumberOfMessagesVisible"


@test
def dashboard_and_outputs():
    body = yaml.safe_dump(R["Dashboard"]["Properties"]["DashboardBody"])
    for needle in ["IntegrationTimeouts", "NearLimitRequests", "'p50'", "'p95'", "'p99'"]:
        assert needle in body, needle
    assert set(T["Outputs"]) >= {"AlertTopicArn", "AlarmTopicArn", "IncidentsTableName", "FunctionName", "FailureQueueUrl", "DashboardUrl"}


@test
def backend_function_lookups_on_exactly_those_groups():
    p = P["BackendFunctionNames"]
    assert p["Type"] == "CommaDelimitedList" and p["Default"] == ""
    loop = LOOPS["Fn::ForEach::BackendFunctionLogs"]
    assert loop[0] == "Name" and loop[1] == ref("BackendFunctionNames")
    (name, pol), = loop[2].items()
    assert "&{Name}" in name and pol["Type"] == "AWS::IAM::Policy"
    assert pol["Condition"] == "HasBackendFunctions" and pol["Properties"]["Roles"] == [ref("FunctionRole")]
    (st,) = pol["Properties"]["PolicyDocument"]["Statement"]
    assert st["Action"] == "logs:FilterLogEvents", st["Action"]
    arn = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/${Name}"
    assert st["Resource"] == [{"Fn::Sub": arn}, {"Fn::Sub": arn + ":*"}], st["Resource"]
    env = function()["Environment"]["Variables"]
    assert env["BACKEND_FUNCTION_NAMES"] == {"Fn::Join": [",", ref("BackendFunctionNames")]}
    # The role itself reads no logs (lookups_only_on_the_watched_groups checks it too).
    assert "FilterLogEvents" not in json_dump(R["FunctionRole"])


@test
def delivered_execution_logs_are_optional_and_subscribed():
    names = ["DeliveredExecutionLogGroup", "DeliveredExecutionLogsPolicy", "ExecutionLogsDeliverySource",
             "ExecutionLogsDeliveryDestination", "ExecutionLogsDelivery", "DeliveredExecutionLogsPermission",
             "DeliveredExecutionLogsSubscription"]
    for n in names:
        assert R[n]["Condition"] == "HasDelivery", n
    assert R["ExecutionLogsDeliverySource"]["Properties"]["LogType"] == "EXECUTION_LOGS"
    assert R["ExecutionLogsDeliveryDestination"]["Properties"]["OutputFormat"] == "json"
    sub = R["DeliveredExecutionLogsSubscription"]["Properties"]
    assert sub["LogGroupName"] == ref("DeliveredExecutionLogGroup")
    assert sub["DestinationArn"] == {"Fn::GetAtt": ["Function", "Arn"]}
    assert P["DeliveredExecutionLogsRestApiId"]["Default"] == "" and P["DeliveredExecutionLogsStage"]["Default"] == ""
    assert "Requests" in yaml.safe_dump(R["Dashboard"]["Properties"]["DashboardBody"])


# The CloudTrail change names the doctor keeps (docs/reference/cloudtrail-changes.md, section 1): API Gateway's
# are plain action names, matched exactly; Lambda's carry API-version suffixes (UpdateFunctionCode20150331v2),
# matched by prefix.
APIGATEWAY_CHANGES = {
    "CreateDeployment", "UpdateStage", "CreateStage", "PutIntegration", "UpdateIntegration", "CreateIntegration",
    "PutMethod", "UpdateMethod", "CreateRoute", "UpdateRoute", "PutRestApi", "ImportRestApi", "ImportApi",
    "ReimportApi", "UpdateRestApi", "UpdateApi",
}
LAMBDA_CHANGES = {
    "UpdateFunctionCode", "UpdateFunctionConfiguration", "PublishVersion", "UpdateAlias", "PutFunctionConcurrency",
    "DeleteFunctionConcurrency", "PutProvisionedConcurrencyConfig", "DeleteProvisionedConcurrencyConfig",
}
CLOUDTRAIL = os.path.join(ROOT, "tests", "fixtures", "cloudtrail")


def pattern_matches(pattern, event) -> bool:
    """EventBridge matching for the operators the change rule uses (exact strings and `prefix`), enough to hold
    the template's pattern against the fixtures offline; the local deploy asks the emulator's TestEventPattern."""
    for key, want in pattern.items():
        if key not in event:
            return False
        got = event[key]
        if isinstance(want, dict):
            if not isinstance(got, dict) or not pattern_matches(want, got):
                return False
            continue
        values = got if isinstance(got, list) else [got]
        if not any(v == w if isinstance(w, str) else (isinstance(v, str) and v.startswith(w["prefix"]))
                   for v in values for w in want):
            return False
    return True


def change_rule():
    rules = {k: r for k, r in R.items() if r["Type"] == "AWS::Events::Rule"}
    assert set(rules) == {"ChangeEventsRule"}, f"one plain EventBridge rule, the change rule: {sorted(rules)}"
    return rules["ChangeEventsRule"]


@test
def change_events_rule_exists_only_under_its_parameter():
    p = P["ChangeEvents"]
    assert p["Type"] == "String" and p["Default"] == "on" and p["AllowedValues"] == ["on", "off"], p
    assert T["Conditions"]["HasChangeEvents"] == {"Fn::Equals": [ref("ChangeEvents"), "on"]}
    rule = change_rule()
    assert rule["Condition"] == "HasChangeEvents"
    assert R["ChangeEventsPermission"]["Condition"] == "HasChangeEvents"
    # SAM function events take no Condition: an EventBridge event on the function would exist with ChangeEvents=off.
    for name, ev in function().get("Events", {}).items():
        assert ev["Type"] not in ("EventBridgeRule", "CloudWatchEvent"), f"{name}: use the conditional rule"
    props = rule["Properties"]
    assert props["State"] == "ENABLED" and props.get("EventBusName", "default") == "default", props
    env = function()["Environment"]["Variables"]
    assert env["CHANGE_EVENTS"] == ref("ChangeEvents"), env.get("CHANGE_EVENTS")


@test
def change_events_pattern_lists_the_change_names():
    pat = change_rule()["Properties"]["EventPattern"]
    assert set(pat) == {"source", "detail-type", "detail"}, sorted(pat)
    assert sorted(pat["source"]) == ["aws.apigateway", "aws.lambda"], pat["source"]
    assert pat["detail-type"] == ["AWS API Call via CloudTrail"], pat["detail-type"]
    detail = pat["detail"]
    assert set(detail) == {"eventSource", "eventName"}, sorted(detail)
    assert sorted(detail["eventSource"]) == ["apigateway.amazonaws.com", "lambda.amazonaws.com"], detail["eventSource"]
    names = detail["eventName"]
    exact = [n for n in names if isinstance(n, str)]
    prefixes = [n["prefix"] for n in names if isinstance(n, dict)]
    assert all(isinstance(n, str) or list(n) == ["prefix"] for n in names), names
    assert len(exact) == len(set(exact)) and set(exact) == APIGATEWAY_CHANGES, sorted(set(exact) ^ APIGATEWAY_CHANGES)
    assert len(prefixes) == len(set(prefixes)) and set(prefixes) == LAMBDA_CHANGES, sorted(set(prefixes) ^ LAMBDA_CHANGES)
    # An exact Lambda name would never match: CloudTrail writes UpdateFunctionConfiguration20150331v2.
    assert not any(n.startswith(tuple(LAMBDA_CHANGES)) for n in exact), exact


@test
def change_events_pattern_matches_the_cloudtrail_fixtures():
    pat = change_rule()["Properties"]["EventPattern"]
    # The EventBridge event of a Lambda change (PutFunctionConcurrency20171031): matched through its prefix.
    event = json.load(open(os.path.join(CLOUDTRAIL, "eventbridge-api-call-lambda.json")))
    assert pattern_matches(pat, event), event["detail"]["eventName"]
    # Every change name of the fixtures' pattern (suffixed Lambda names) and of their records.
    fixture = json.load(open(os.path.join(CLOUDTRAIL, "eventbridge-rule-pattern.json")))
    records = json.load(open(os.path.join(CLOUDTRAIL, "s3-log-file-records.json")))["Records"]
    looked_up = [json.loads(e["CloudTrailEvent"]) for e in
                 json.load(open(os.path.join(CLOUDTRAIL, "lookup-events-cli-output.json")))["Events"]]
    sources = {"apigateway.amazonaws.com": "aws.apigateway", "lambda.amazonaws.com": "aws.lambda"}
    for rec in records + looked_up:
        ev = {"source": sources[rec["eventSource"]], "detail-type": "AWS API Call via CloudTrail", "detail": rec}
        assert pattern_matches(pat, ev), rec["eventName"]
    for name in fixture["detail"]["eventName"]:
        source = "lambda.amazonaws.com" if name.startswith(tuple(LAMBDA_CHANGES)) else "apigateway.amazonaws.com"
        ev = {"source": sources[source], "detail-type": "AWS API Call via CloudTrail",
              "detail": {"eventSource": source, "eventName": name}}
        assert pattern_matches(pat, ev), name
    # Reads and other calls are not changes that explain a timeout.
    for source, name in [("apigateway.amazonaws.com", "GetRestApi"), ("lambda.amazonaws.com", "GetFunction20150331v2"),
                         ("lambda.amazonaws.com", "Invoke"), ("apigateway.amazonaws.com", "GetStages")]:
        ev = {"source": sources[source], "detail-type": "AWS API Call via CloudTrail",
              "detail": {"eventSource": source, "eventName": name}}
        assert not pattern_matches(pat, ev), name


@test
def change_events_rule_targets_the_function_with_its_own_permission():
    (target,) = change_rule()["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["Function", "Arn"]}, target
    # The whole event: no Input, InputPath or InputTransformer (the function reads the CloudTrail record in detail).
    assert set(target) == {"Id", "Arn"}, sorted(target)
    perm = R["ChangeEventsPermission"]
    assert perm["Type"] == "AWS::Lambda::Permission"
    props = perm["Properties"]
    assert props["Action"] == "lambda:InvokeFunction" and props["FunctionName"] == ref("Function"), props
    assert props["Principal"] == "events.amazonaws.com", props
    # Only this rule may invoke the function through EventBridge.
    assert props["SourceArn"] == {"Fn::GetAtt": ["ChangeEventsRule", "Arn"]}, props
    # Storing changes needs nothing new: the incidents table's item actions (least_privilege pins the whole set).
    assert "events:" not in json_dump(R["FunctionRole"]) and "cloudtrail:" not in json_dump(R["FunctionRole"])


@test
def change_window_is_a_parameter():
    p = P["ChangeWindowMinutes"]
    assert p["Type"] == "Number" and p["Default"] == 60 and p["MinValue"] == 1 and p["MaxValue"] == 1440, p
    env = function()["Environment"]["Variables"]
    assert env["CHANGE_WINDOW_MINUTES"] == ref("ChangeWindowMinutes"), env.get("CHANGE_WINDOW_MINUTES")
    groups = [g["Parameters"] for g in T["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]]
    assert ["ChangeEvents", "ChangeWindowMinutes"] in groups, groups


@test
def slo_is_a_parameter_with_the_default_objective():
    p = P["Slo"]
    assert p["Type"] == "String" and p["Default"] == "99.9%/30d", p
    env = function()["Environment"]["Variables"]
    assert env["SLO"] == ref("Slo"), env.get("SLO")
    groups = [g["Parameters"] for g in T["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]]
    assert ["Slo"] in groups, groups


@test
def a_failing_pager_raises_its_own_alarm():
    for name, cond, notifier in [("PagerDutyFailuresAlarm", "HasPagerDuty", "pagerduty"), ("OpsgenieFailuresAlarm", "HasOpsgenie", "opsgenie")]:
        a = R[name]
        assert a["Condition"] == cond, a
        p = a["Properties"]
        assert p["MetricName"] == "NotifierFailures" and p["Namespace"] == ref("MetricsNamespace"), p
        assert p["Dimensions"] == [{"Name": "Notifier", "Value": notifier}], p["Dimensions"]
        assert p["AlarmActions"] == [ref("AlarmTopic")] and p["TreatMissingData"] == "notBreaching", p


@test
def pager_keys_are_ssm_parameter_names_read_with_least_privilege():
    env = function()["Environment"]["Variables"]
    pairs = [("PAGERDUTY_ROUTING_KEY_PARAMETER", "PagerDutyRoutingKeyParameter"),
             ("OPSGENIE_API_KEY_PARAMETER", "OpsgenieApiKeyParameter")]
    for var, param in pairs:
        # A name (off when empty), never a key: the key is read from SSM at init.
        assert env[var] == ref(param) and P[param]["Default"] == "", (var, env.get(var))
        assert P[param]["AllowedPattern"].startswith("^$|^/"), P[param]
    assert not any(re.search(r"(ROUTING|API)_KEY$|SECRET|TOKEN", k) for k in env), sorted(env)
    assert env["PAGERDUTY_EVENTS_URL"] == ref("PagerDutyEventsUrl") and env["OPSGENIE_API_URL"] == ref("OpsgenieApiUrl")
    role = R["FunctionRole"]["Properties"]
    (pager,) = [p for p in role["Policies"] if "Fn::If" in p]
    cond, doc, off = pager["Fn::If"]
    assert cond == "HasPagers" and off == ref("AWS::NoValue"), pager
    get, kms = doc["PolicyDocument"]["Statement"]
    assert get["Action"] == "ssm:GetParameter" and get["Effect"] == "Allow", get
    # Exactly the parameters named, each only when its pager is on; no wildcard, no GetParameters(ByPath).
    arns = [r["Fn::If"] for r in get["Resource"]]
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${%s}"
    assert arns == [[c, {"Fn::Sub": arn % p}, ref("AWS::NoValue")]
                    for c, p in [("HasPagerDuty", "PagerDutyRoutingKeyParameter"), ("HasOpsgenie", "OpsgenieApiKeyParameter")]], arns
    # kms:Decrypt only for a customer managed key, and only through SSM.
    c, st, off = kms["Fn::If"]
    assert c == "HasPagerKeysKms" and off == ref("AWS::NoValue")
    assert st["Action"] == "kms:Decrypt" and st["Resource"] == ref("PagerKeysKmsKeyArn"), st
    assert st["Condition"] == {"StringEquals": {"kms:ViaService": {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}}}
    # Plain HTTP only to this machine (a test's stand-in); the vendors' HTTPS endpoints by default.
    assert P["PagerDutyEventsUrl"]["Default"] == "https://events.pagerduty.com/v2/enqueue"
    assert P["OpsgenieApiUrl"]["Default"] == "https://api.opsgenie.com"
    for u in ["PagerDutyEventsUrl", "OpsgenieApiUrl"]:
        pat = re.compile(P[u]["AllowedPattern"])
        assert pat.match("https://api.eu.opsgenie.com") and pat.match("http://127.0.0.1:8080/v2/enqueue")
        assert not pat.match("http://events.pagerduty.com/v2/enqueue"), u


# ---- every log group of the account (issue 25 part 1; docs/reference/org-wide.md section 1, README "Every log group of the account")

LOG_GROUP_ARN_ANY = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"


def resolve(x, env):
    """The few intrinsics the account policy's strings use, resolved with `env` (parameter and resource names,
    conditions): Ref, Fn::Sub (plain ${Name}), Fn::Join, Fn::If."""
    if isinstance(x, str):
        return x
    if isinstance(x, list):
        return [resolve(i, env) for i in x]
    (fn, arg), = x.items()
    if fn == "Ref":
        return env[arg]
    if fn == "Fn::Sub":
        return re.sub(r"\$\{([^}]+)\}", lambda m: env[m.group(1)], arg)
    if fn == "Fn::Join":
        sep, items = arg
        items = resolve(items, env)
        return sep.join(items)
    if fn == "Fn::If":
        cond, yes, no = arg
        return resolve(yes if env[cond] else no, env)
    raise AssertionError(f"unexpected intrinsic {fn}")


def account_policy():
    return R["AccountSubscriptionPolicy"]


def selection(env):
    """The policy's selection criteria for `env`, and the excluded names (the JSON list after NOT IN)."""
    text = resolve(account_policy()["Properties"]["SelectionCriteria"], env)
    assert text.startswith("LogGroupName NOT IN ["), text
    return text, json.loads(text[len("LogGroupName NOT IN "):])


ENV = {"FunctionLogGroup": "/aws/lambda/doctor", "AWS::StackName": "doctor", "AccountExcludedLogGroups": [""],
       "HasAccountExclusions": False}


@test
def subscription_scope_parameter_and_conditions():
    p = P["SubscriptionScope"]
    assert p["Type"] == "String" and p["Default"] == "log-groups" and p["AllowedValues"] == ["log-groups", "account"], p
    assert T["Conditions"]["AccountScope"] == {"Fn::Equals": [ref("SubscriptionScope"), "account"]}
    assert T["Conditions"]["LogGroupScope"] == {"Fn::Equals": [ref("SubscriptionScope"), "log-groups"]}
    assert P["AccountExcludedLogGroups"]["Type"] == "CommaDelimitedList" and P["AccountExcludedLogGroups"]["Default"] == ""
    assert T["Conditions"]["HasAccountExclusions"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", ref("AccountExcludedLogGroups")]}, ""]}]}
    groups = [g["Parameters"] for g in T["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]]
    assert any({"SubscriptionScope", "ApiLogGroupNames", "AccountFilterPattern", "AccountExcludedLogGroups"} <= set(g)
               for g in groups), groups


@test
def account_scope_replaces_the_per_group_filters():
    (name, sub), = LOOPS["Fn::ForEach::Subscriptions"][2].items()
    assert sub["Condition"] == "LogGroupScope", "the per-group filters exist only with SubscriptionScope log-groups"
    pol = account_policy()
    assert pol["Type"] == "AWS::Logs::AccountPolicy" and pol["Condition"] == "AccountScope", pol
    # Exactly one of the two ways subscribes the ApiLogGroupNames: never both (each batch would arrive twice).
    plain_filters = [k for k, r in R.items() if r["Type"] == "AWS::Logs::SubscriptionFilter"]
    assert all(R[k]["Condition"] == "HasDelivery" for k in plain_filters), plain_filters
    policies = [k for k, r in R.items() if r["Type"] == "AWS::Logs::AccountPolicy"]
    assert policies == ["AccountSubscriptionPolicy"], policies


@test
def account_policy_is_a_subscription_filter_policy_to_the_function():
    pol = account_policy()
    props = pol["Properties"]
    assert props["PolicyType"] == "SUBSCRIPTION_FILTER_POLICY" and props["Scope"] == "ALL", props
    # A name per stack (unique in the account; never the reserved aws/ prefix, no ':' or '*').
    name = resolve(props["PolicyName"], ENV)
    assert re.fullmatch(r"[^:*]{1,256}", name) and not name.startswith("aws/"), name
    doc = props["PolicyDocument"]["Fn::ToJsonString"]
    # Lambda in the same account: no RoleArn (only Kinesis/Firehose need one), no Distribution (Kinesis only).
    assert doc == {"DestinationArn": {"Fn::GetAtt": ["Function", "Arn"]}, "FilterPattern": ref("AccountFilterPattern")}, doc
    # CloudWatch Logs may test the invoke when the policy is put: the permission comes first.
    assert pol["DependsOn"] == "SubscriptionPermission", pol.get("DependsOn")


@test
def account_policy_excludes_the_functions_own_log_group_and_its_dependencies():
    text, names = selection(ENV)
    # The function's own group: the one its logs go to (LoggingConfig) and the one the runtime skips
    # (AWS_LAMBDA_LOG_GROUP_NAME = /aws/lambda/STACK-NAME, own_log_group in src/monitor/settings.rs).
    assert R["FunctionLogGroup"]["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}"}
    assert function()["LoggingConfig"]["LogGroup"] == ref("FunctionLogGroup")
    assert account_policy()["Properties"]["SelectionCriteria"]["Fn::Join"][1][1] == ref("FunctionLogGroup")
    assert names[0] == "/aws/lambda/doctor", names
    # The delivered-execution-logs group keeps its own filter (not twice) and the Slack channel's group.
    assert names == ["/aws/lambda/doctor", "/apigw-doctor/doctor/execution-logs", "/aws/chatbot/doctor-alerts"], names
    assert R["DeliveredExecutionLogGroup"]["Properties"]["LogGroupName"] == {
        "Fn::Sub": "/apigw-doctor/${AWS::StackName}/execution-logs"}
    assert R["SlackChannel"]["Properties"]["ConfigurationName"] == {"Fn::Sub": "${AWS::StackName}-alerts"}
    # The operator's exclusions are appended, each one a name of its own.
    env = dict(ENV, AccountExcludedLogGroups=["/aws/lambda/relay", "API-Gateway-Execution-Logs_noisy/dev"],
               HasAccountExclusions=True)
    _, more = selection(env)
    assert more == names + ["/aws/lambda/relay", "API-Gateway-Execution-Logs_noisy/dev"], more
    # The only selection criteria a subscription filter policy takes, and well inside its 25 KB.
    assert len(text.encode()) < 25 * 1024


def filter_terms():
    """AccountFilterPattern's default as CloudWatch Logs reads an unstructured pattern of `?"phrase"` terms:
    an event matches when it contains any one of the phrases (case-sensitive)."""
    pat = P["AccountFilterPattern"]["Default"]
    terms = re.findall(r'\?"([^"]+)"', pat)
    assert re.sub(r'\?"[^"]+"', "", pat).strip() == "", f"only ?\"...\" terms: {pat!r}"
    assert len(pat) <= P["AccountFilterPattern"]["MaxLength"] == 1024
    return terms


def fixture_events():
    import base64
    import glob
    import gzip
    for path in sorted(glob.glob(os.path.join(ROOT, "events", "*.json"))):
        try:
            doc = json.loads(gzip.decompress(base64.b64decode(json.load(open(path))["awslogs"]["data"])))
        except (KeyError, ValueError, OSError, TypeError):
            continue
        if doc.get("messageType") == "DATA_MESSAGE":
            for e in doc["logEvents"]:
                yield os.path.basename(path), doc["logGroup"], e["message"]


@test
def account_filter_pattern_selects_api_gateway_lines():
    terms = filter_terms()
    matches = lambda m: any(t in m for t in terms)  # noqa: E731
    seen = {"execution": 0, "access": 0}
    for path, group, message in fixture_events():
        if group.startswith("API-Gateway-Execution-Logs_"):
            seen["execution"] += 1
            assert matches(message), f"{path}: execution-log line not delivered: {message[:120]}"
        elif group.startswith("/aws/lambda/"):
            # Backend function groups are not delivered by default (BackendFunctionNames' lookups read them).
            assert not matches(message), f"{path}: {message[:120]}"
        else:
            seen["access"] += 1
            assert matches(message), f"{path}: access-log line not delivered: {message[:120]}"
    assert seen["execution"] > 100 and seen["access"] > 0, seen
    # Real execution logs (tests/fixtures/samples, quoted from public posts): every line is delivered.
    import glob
    real = [m for f in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "samples", "*.txt")))
            for line in open(f) for m in re.findall(r'"message": "(\(.*?)"\s*$', line) + ([line.strip()] if line.startswith("(") else [])]
    assert len(real) > 100, len(real)
    missed = [m for m in real if not matches(m)]
    assert not missed, missed[:3]
    # Other groups' everyday lines do not invoke the function.
    for other in ["START RequestId: 1f2e Version: $LATEST", '{"level":"INFO","message":"order 42 shipped"}',
                  "2 123456789012 eni-0a1b 10.0.0.1 10.0.0.2 443 49152 6 10 840 1620000000 1620000060 ACCEPT OK",
                  "[INFO] 2026-12-07T10:00:00Z worker started"]:
        assert not matches(other), other


@test
def account_scope_permission_lets_only_this_accounts_log_groups_invoke():
    perm = R["SubscriptionPermission"]
    # One permission for both scopes: no Condition, so the account policy has it too.
    assert "Condition" not in perm, perm
    props = perm["Properties"]
    assert props["Action"] == "lambda:InvokeFunction" and props["FunctionName"] == ref("Function"), props
    assert props["Principal"] == "logs.amazonaws.com"
    assert props["SourceAccount"] == ref("AWS::AccountId")
    assert props["SourceArn"] == {"Fn::Sub": LOG_GROUP_ARN_ANY}, props["SourceArn"]
    # Every logs.amazonaws.com permission names this account and an ARN of this account and region.
    for k, r in R.items():
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] == "logs.amazonaws.com":
            assert r["Properties"]["SourceAccount"] == ref("AWS::AccountId"), k
            assert r["Properties"]["SourceArn"]["Fn::Sub"].startswith(
                "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"), k


@test
def account_scope_lookups_read_only_execution_log_groups():
    pol = R["AccountLookups"]
    assert pol["Type"] == "AWS::IAM::Policy" and pol["Condition"] == "AccountScope", pol
    assert pol["Properties"]["Roles"] == [ref("FunctionRole")]
    (st,) = pol["Properties"]["PolicyDocument"]["Statement"]
    assert st["Effect"] == "Allow" and st["Action"] == "logs:FilterLogEvents", st
    assert st["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                                          "API-Gateway-Execution-Logs_*"}], st["Resource"]
    # The function never manages account policies or filters: the deployer's (administrator's) grant only. (The
    # central destination's policy names them: a grant to the source accounts on the destination, checked below.)
    everything = json_dump({k: r for k, r in T["Resources"].items() if k != "CentralDestination"})
    for action in ["logs:PutAccountPolicy", "logs:DeleteAccountPolicy", "logs:PutSubscriptionFilter", "iam:PassRole"]:
        assert action not in everything, action


# ---- central account mode (issue 25 part 2; README "Every account of an organisation", docs/reference/org-wide.md
# sections 2, 3, 4 and 6) and templates/source-account.yaml

CENTRAL = ["CentralStream", "CentralDeliveryRole", "CentralDestination"]
CENTRAL_EVENTS = {"CentralChangeEventsFromAccounts": "CentralAccountsSendChanges",
                  "CentralChangeEventsFromOrganization": "CentralOrganizationSendsChanges"}
STREAM_ARN = {"Fn::GetAtt": ["CentralStream", "Arn"]}
DEST_ARN = {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:destination:${AWS::StackName}"}
S = yaml.safe_load(open(os.path.join(ROOT, "templates", "source-account.yaml")))
SLOOPS = {k: v for k, v in S["Resources"].items() if k.startswith("Fn::ForEach::")}
SR = {k: v for k, v in S["Resources"].items() if k not in SLOOPS}


def statements(doc):
    """A policy document's statements as they are when every conditional one is on."""
    return [when_on(st) for st in doc["Statement"]]


@test
def central_mode_exists_only_under_its_parameters():
    for name in ["CentralSourceAccounts", "CentralOrganizationId"]:
        assert P[name]["Default"] == "", name
    assert P["CentralSourceAccounts"]["Type"] == "CommaDelimitedList"
    org = re.compile(P["CentralOrganizationId"]["AllowedPattern"])
    assert org.match("o-a1b2c3d4e5") and org.match("") and not org.match("123456789012")
    c = T["Conditions"]
    assert c["HasCentralAccounts"] == {"Fn::Not": [{"Fn::Equals": [{"Fn::Select": [0, ref("CentralSourceAccounts")]}, ""]}]}
    assert c["HasCentralOrganization"] == {"Fn::Not": [{"Fn::Equals": [ref("CentralOrganizationId"), ""]}]}
    assert c["IsCentral"] == {"Fn::Or": [{"Condition": "HasCentralAccounts"}, {"Condition": "HasCentralOrganization"}]}
    for n in CENTRAL:
        assert R[n]["Condition"] == "IsCentral", n
    for n, cond in CENTRAL_EVENTS.items():
        assert R[n]["Condition"] == cond, n
    assert c["CentralAccountsSendChanges"] == {"Fn::And": [{"Condition": "HasCentralAccounts"}, {"Condition": "HasChangeEvents"}]}
    assert c["CentralOrganizationSendsChanges"] == {"Fn::And": [{"Condition": "HasCentralOrganization"}, {"Condition": "HasChangeEvents"}]}
    # Every resource that names a central one is itself central, or chooses it through IsCentral.
    for k, r in R.items():
        text = json_dump(r)
        if any(f'"{n}"' in text for n in CENTRAL) and k not in CENTRAL:
            assert r.get("Condition") in ("IsCentral", "ReadsStream") or k == "FunctionRole", k
    out = T["Outputs"]["CentralDestinationArn"]
    assert out["Condition"] == "IsCentral" and out["Value"] == {"Fn::GetAtt": ["CentralDestination", "Arn"]}, out
    assert T["Outputs"]["CentralEventBusArn"]["Condition"] == "IsCentral"
    groups = [g["Parameters"] for g in T["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]]
    assert ["CentralSourceAccounts", "CentralOrganizationId", "CentralStreamShards"] in groups, groups


@test
def central_stream_is_sized_by_a_parameter_and_encrypted():
    p = R["CentralStream"]["Properties"]
    assert R["CentralStream"]["Type"] == "AWS::Kinesis::Stream"
    assert P["CentralStreamShards"]["Default"] == 1 and P["CentralStreamShards"]["MinValue"] == 0
    assert T["Conditions"]["CentralOnDemand"] == {"Fn::Equals": [ref("CentralStreamShards"), "0"]}
    assert p["StreamModeDetails"] == {"StreamMode": {"Fn::If": ["CentralOnDemand", "ON_DEMAND", "PROVISIONED"]}}
    assert p["ShardCount"] == {"Fn::If": ["CentralOnDemand", ref("AWS::NoValue"), ref("CentralStreamShards")]}
    # The AWS managed key: no KMS grant for CloudWatch Logs' role or the function (none is given: least_privilege).
    assert p["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    assert p["RetentionPeriodHours"] == 24


@test
def central_delivery_role_puts_records_on_exactly_the_stream_for_the_sources_only():
    role = R["CentralDeliveryRole"]["Properties"]
    (pol,) = role["Policies"]
    (st,) = pol["PolicyDocument"]["Statement"]
    assert st == {"Sid": "CentralStream", "Effect": "Allow", "Action": "kinesis:PutRecord", "Resource": STREAM_ARN}, st
    assert "ManagedPolicyArns" not in role
    trust = statements(role["AssumeRolePolicyDocument"])
    assert len(trust) == 2, trust
    for t in trust:
        assert t["Principal"] == {"Service": "logs.amazonaws.com"} and t["Action"] == "sts:AssumeRole", t
        assert t["Effect"] == "Allow" and t.get("Condition"), f"a trust statement without a condition: {t}"
    accounts, org = trust
    # aws:SourceArn: the listed accounts' logs and this account's own (the destination's test message).
    arns = accounts["Condition"]["StringLike"]["aws:SourceArn"]["Fn::If"]
    assert arns[0] == "HasCentralAccounts", arns
    split = arns[1]["Fn::Split"]
    sub, variables = split[1]["Fn::Sub"]
    text = sub.replace("${Accounts}", variables["Accounts"]["Fn::Join"][0].join(["111111111111", "222222222222"]))
    assert variables["Accounts"]["Fn::Join"][1] == ref("CentralSourceAccounts")
    assert text.split(split[0]) == ["arn:*:logs:*:111111111111:*", "arn:*:logs:*:222222222222:*",
                                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"], text
    assert arns[2] == [{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"}], arns[2]
    assert role["AssumeRolePolicyDocument"]["Statement"][1]["Fn::If"][0] == "HasCentralOrganization"
    assert org["Condition"] == {"StringEquals": {"aws:SourceOrgID": ref("CentralOrganizationId")}}, org


@test
def central_destination_admits_the_listed_accounts_or_the_organization():
    d = R["CentralDestination"]
    assert d["Type"] == "AWS::Logs::Destination"
    p = d["Properties"]
    assert p["TargetArn"] == STREAM_ARN and p["RoleArn"] == {"Fn::GetAtt": ["CentralDeliveryRole", "Arn"]}
    assert p["DestinationName"] == {"Fn::Sub": "${AWS::StackName}"}
    # Its ARN as the policy names it (the destination's own ARN is the only resource).
    assert DEST_ARN["Fn::Sub"].endswith(":destination:" + p["DestinationName"]["Fn::Sub"])
    doc = p["DestinationPolicy"]["Fn::ToJsonString"]
    conds = [st["Fn::If"][0] for st in doc["Statement"]]
    assert conds == ["HasCentralAccounts", "HasCentralOrganization"], conds
    accounts, org = statements(doc)
    for st in (accounts, org):
        assert st["Effect"] == "Allow" and st["Resource"] == DEST_ARN, st
        # Subscription filters and account-level policies (AWS's account-level destination example).
        assert st["Action"] == ["logs:PutSubscriptionFilter", "logs:PutAccountPolicy"], st["Action"]
    assert accounts["Principal"] == {"AWS": ref("CentralSourceAccounts")} and "Condition" not in accounts
    assert org["Principal"] == "*" and org["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ref("CentralOrganizationId")}}
    assert len(json.dumps(doc)) < 5120  # PutDestinationPolicy's limit (with a handful of accounts)


@test
def central_mapping_values():
    k = R["KinesisSource"]["Properties"]
    assert k["StartingPosition"] == {"Fn::If": ["IsCentral", "TRIM_HORIZON", "LATEST"]}, k["StartingPosition"]
    assert k["BatchSize"] == ref("KinesisBatchSize") and k["MaximumBatchingWindowInSeconds"] == ref("KinesisBatchWindowSeconds")
    assert P["KinesisBatchSize"]["Default"] == 100 and P["KinesisBatchWindowSeconds"]["Default"] == 5
    # The event source mapping's limits: a batch of 1 to 10,000 records, a window of 0 to 300 s.
    assert (P["KinesisBatchSize"]["MinValue"], P["KinesisBatchSize"]["MaxValue"]) == (1, 10000)
    assert (P["KinesisBatchWindowSeconds"]["MinValue"], P["KinesisBatchWindowSeconds"]["MaxValue"]) == (0, 300)
    assert k["BisectBatchOnFunctionError"] is True and k["MaximumRetryAttempts"] == 2
    assert k["MaximumRecordAgeInSeconds"] == -1
    assert k["FunctionName"] == ref("Function")
    # The function's concurrency on the stream is shards x ParallelizationFactor (README): at most 10 per shard.
    assert P["KinesisParallelization"]["MaxValue"] == 10


@test
def central_bus_admits_the_sources_change_events():
    bus = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"
    a, o = (R[n]["Properties"] for n in CENTRAL_EVENTS)
    for p in (a, o):
        assert R["CentralChangeEventsFromAccounts"]["Type"] == "AWS::Events::EventBusPolicy"
        assert p["EventBusName"] == "default" and p["Statement"]["Action"] == "events:PutEvents", p
        assert p["Statement"]["Resource"] == {"Fn::Sub": bus} and p["Statement"]["Effect"] == "Allow", p
    assert a["Statement"]["Principal"] == {"AWS": ref("CentralSourceAccounts")} and "Condition" not in a["Statement"]
    assert o["Statement"]["Principal"] == "*"
    assert o["Statement"]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ref("CentralOrganizationId")}}
    # The change rule is on that bus and names no account: the sources' events match it like this account's own.
    rule = change_rule()["Properties"]
    assert rule.get("EventBusName", "default") == "default" and "account" not in rule["EventPattern"]
    assert T["Outputs"]["CentralEventBusArn"]["Value"] == {"Fn::Sub": bus}


@test
def source_template_log_groups_scope():
    p = S["Parameters"]
    assert p["Scope"]["AllowedValues"] == ["log-groups", "account"] and p["Scope"]["Default"] == "log-groups"
    assert re.match(p["DestinationArn"]["AllowedPattern"], "arn:aws:logs:eu-west-1:999999999999:destination:apigw-doctor")
    assert not re.match(p["DestinationArn"]["AllowedPattern"], "arn:aws:kinesis:eu-west-1:999999999999:stream/x")
    loop = SLOOPS["Fn::ForEach::Subscriptions"]
    assert loop[0] == "GroupName" and loop[1] == ref("LogGroupNames")
    (name, f), = loop[2].items()
    assert "&{GroupName}" in name and f["Type"] == "AWS::Logs::SubscriptionFilter" and f["Condition"] == "GroupScope"
    fp = f["Properties"]
    assert fp["LogGroupName"] == ref("GroupName") and fp["DestinationArn"] == ref("DestinationArn")
    assert fp["Distribution"] == "ByLogStream" and fp["FilterPattern"] == ""
    # No role for a destination that lists the account; the organization's role only with OrganizationRole on.
    assert fp["RoleArn"] == {"Fn::If": ["WithOrganizationRole", {"Fn::GetAtt": ["SubscriptionRole", "Arn"]}, ref("AWS::NoValue")]}
    # An empty list for log-groups is refused before anything is created.
    rule = S["Rules"]["GroupsForGroupScope"]
    assert rule["RuleCondition"] == {"Fn::Equals": [ref("Scope"), "log-groups"]}
    assert p["LogGroupNames"]["Default"] == "none"


@test
def source_template_account_scope_reuses_the_filter_pattern():
    pol = SR["AccountSubscriptionPolicy"]
    assert pol["Type"] == "AWS::Logs::AccountPolicy" and pol["Condition"] == "AccountScope"
    props = pol["Properties"]
    assert props["PolicyType"] == "SUBSCRIPTION_FILTER_POLICY" and props["Scope"] == "ALL"
    doc = props["PolicyDocument"]["Fn::ToJsonString"]
    assert doc["DestinationArn"] == ref("DestinationArn") and doc["FilterPattern"] == ref("AccountFilterPattern")
    assert set(doc) == {"DestinationArn", "FilterPattern", "RoleArn"}, doc
    # The very pattern of the main template's account scope, held against the fixtures above.
    assert S["Parameters"]["AccountFilterPattern"]["Default"] == P["AccountFilterPattern"]["Default"]
    assert S["Parameters"]["AccountFilterPattern"]["MaxLength"] == 1024
    env = {"HasExclusions": True, "AccountExcludedLogGroups": ["/aws/lambda/noisy", "VPC-flow"]}
    text = resolve(props["SelectionCriteria"], env)
    assert text == 'LogGroupName NOT IN ["/aws/lambda/noisy", "VPC-flow"]', text
    assert props["SelectionCriteria"]["Fn::If"][2] == ref("AWS::NoValue")


@test
def source_template_roles_are_least_privilege():
    role = SR["SubscriptionRole"]
    assert role["Condition"] == "WithOrganizationRole"
    (t,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert t["Principal"] == {"Service": "logs.amazonaws.com"}, t
    (st,) = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert st["Action"] == "logs:PutLogEvents", st
    assert st["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}
    fwd = SR["ForwardRole"]["Properties"]
    (t,) = fwd["AssumeRolePolicyDocument"]["Statement"]
    assert t["Principal"] == {"Service": "events.amazonaws.com"}
    assert t["Condition"] == {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}
    (st,) = fwd["Policies"][0]["PolicyDocument"]["Statement"]
    assert st == {"Effect": "Allow", "Action": "events:PutEvents", "Resource": ref("EventBusArn")}, st
    for k, r in SR.items():
        if r["Type"] == "AWS::IAM::Role":
            assert "ManagedPolicyArns" not in r["Properties"], k


@test
def source_template_forwards_the_same_change_events():
    rule = SR["ForwardChangeEvents"]
    assert rule["Condition"] == "ForwardsChanges"
    props = rule["Properties"]
    assert props["EventPattern"] == change_rule()["Properties"]["EventPattern"], "the two patterns drifted apart"
    (target,) = props["Targets"]
    assert target["Arn"] == ref("EventBusArn") and target["RoleArn"] == {"Fn::GetAtt": ["ForwardRole", "Arn"]}
    assert S["Parameters"]["EventBusArn"]["Default"] == ""


@test
def cross_account_evidence_grants_only_the_listed_accounts():
    # issue 25 part 4: off by default; oam reads the listed accounts' groups by ARN, role:NAME
    # assumes exactly that role in them; nothing for an empty list.
    p = P["CrossAccountEvidence"]
    assert p["Type"] == "String" and p["Default"] == "off", p
    for ok in ["off", "oam", "role:apigw-doctor-evidence", "role:ops/apigw-doctor"]:
        assert re.match(p["AllowedPattern"], ok), ok
    for bad in ["on", "role:", "role:a b", "role:x/", "arn:aws:iam::1:role/x"]:
        assert not re.match(p["AllowedPattern"], bad), bad
    assert P["EvidenceAccounts"]["Type"] == "CommaDelimitedList" and P["EvidenceAccounts"]["Default"] == ""
    env = function()["Environment"]["Variables"]
    assert env["CROSS_ACCOUNT_EVIDENCE"] == ref("CrossAccountEvidence")
    loop = LOOPS["Fn::ForEach::EvidenceAccountPolicies"]
    assert loop[0] == "Account" and loop[1] == ref("EvidenceAccounts")
    (name, pol), = loop[2].items()
    assert "&{Account}" in name and pol["Type"] == "AWS::IAM::Policy" and pol["Condition"] == "EvidenceGrants"
    assert T["Conditions"]["EvidenceGrants"]["Fn::And"][0] == {"Condition": "HasEvidenceAccounts"}
    (st,) = pol["Properties"]["PolicyDocument"]["Statement"]
    cond, oam, role = st["Fn::If"]
    assert cond == "OamEvidence"
    assert oam["Action"] == "logs:FilterLogEvents" and oam["Effect"] == "Allow"
    assert [r["Fn::Sub"] for r in oam["Resource"]] == [
        "arn:${AWS::Partition}:logs:${AWS::Region}:${Account}:log-group:API-Gateway-Execution-Logs_*",
        "arn:${AWS::Partition}:logs:${AWS::Region}:${Account}:log-group:/aws/lambda/*"]
    assert role["Action"] == "sts:AssumeRole" and role["Resource"]["Fn::Sub"][0] == "arn:${AWS::Partition}:iam::${Account}:role/${RoleName}"
    groups = [g["Parameters"] for g in T["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]]
    assert ["CrossAccountEvidence", "EvidenceAccounts"] in groups, groups



@test
def source_account_evidence_role_reads_only():
    # issue 25 part 4: the role a central doctor's CROSS_ACCOUNT_EVIDENCE=role:NAME assumes.
    p = S["Parameters"]
    assert p["EvidenceRoleName"]["Default"] == "" and p["DoctorRoleArn"]["Default"] == ""
    role = SR["EvidenceRole"]
    assert role["Condition"] == "HasEvidenceRole" and role["Type"] == "AWS::IAM::Role"
    props = role["Properties"]
    assert props["RoleName"] == ref("EvidenceRoleName")
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": ref("DoctorRoleArn")} and trust["Action"] == "sts:AssumeRole"
    (pol,) = props["Policies"]
    actions = sorted(st["Action"] for st in pol["PolicyDocument"]["Statement"])
    assert actions == ["apigateway:GET", "logs:FilterLogEvents"], actions
    assert "Fn::Not" in json_dump(S["Rules"]["EvidenceRoleNeedsItsTruster"])
    out = T["Outputs"]["EvidenceRoleTrustArn"]
    assert out["Condition"] == "EvidenceGrants" and out["Value"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}


failed = sum(1 for r in results if r is not None)
print(f"template: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
