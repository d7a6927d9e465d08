#!/usr/bin/env python3
"""The whole chain on a local AWS: template.yaml deployed through CloudFormation on MiniStack,
real log events put into the subscribed log groups, the real `bootstrap` invoked by the
subscription filters (and by Kinesis, and by hand for the retry paths), and what a user sees
read back: the alerts on an SQS subscriber of the stack's topic, the metrics, the function's
own log, the failure queue. Then the stack is updated and deleted.

    python tests/e2e/deploy_local.py [--bootstrap PATH] [--template PATH] [--keep]

Run by `make deploy-local` (and so by `make e2e` and `make test`). The zip holds the x86_64
dev-profile bootstrap that `cargo test`/`cargo build` already built (MiniStack runs it as a
native process). Nothing is skipped: if the emulator does not start or the stack does not
deploy, the run fails and says why. `--keep` pauses before the update/delete with the stack
up, for trying it by hand. Prints `N passed, N failed` last.

CloudTrail change events (the template's ChangeEventsRule, README "What changed"): the rule is
deployed as written and checked (pattern, target, permission, TestEventPattern against the
emulator's matcher), but a change event is invoked directly, not put on the bus: EventBridge
refuses PutEvents with an `aws.*` source, on AWS and in MiniStack alike, and MiniStack's own
CloudTrail does not emit "AWS API Call via CloudTrail" events to EventBridge. The same event
the rule would deliver, with the same envelope, goes to the function with lambda Invoke.
"""
from __future__ import annotations

import argparse
import base64
import http.server
import threading
import calendar
import copy
import importlib.util
import io
import json
import os
import sys
import time
import traceback
import zipfile

import boto3
import yaml
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "aws"))
from ministack import client_env, running  # noqa: E402

STACK = "apigw-doctor-local"
NAMESPACE = "ApigwDoctorLocal"
API, STAGE = "a1b2c3d4e5", "prod"
EXEC_GROUP = f"API-Gateway-Execution-Logs_{API}/{STAGE}"
ACCESS_GROUP = f"/aws/apigateway/{API}/{STAGE}/access"
BACKEND_GROUP = "/aws/lambda/orders-api"
STREAM_NAME = "apigw-logs"
BUCKET, KEY = "apigw-doctor-artifacts", "bootstrap-x86_64.zip"
SECRETS = ["eyJhbGciOiJIUzI1NiJ9", "abc123secret", "AKIAFAKEKEY", "IQoJb3JpZ2lu"]
CLOUDTRAIL = os.path.join(ROOT, "tests", "fixtures", "cloudtrail")
CHANGE_RULE = "ChangeEventsRule"  # the template's CloudTrail change rule (logical id)
CHANGE_ID = "e2e0c7a1-0d1e-4f2a-9b3c-00000000e2e1"  # the change event's CloudTrail eventID
CHANGE_USER = "alice"
# The pagers (issue 24): keys in SSM SecureString parameters, the vendors stood in for by a loopback server.
PD_PARAMETER, OG_PARAMETER = "/apigw-doctor-local/pagerduty-routing-key", "/apigw-doctor-local/opsgenie-api-key"
PD_KEY, OG_KEY = "e2eR0ut1ngKey0123456789abcdefABC", "e2e43592-faa2-4ba2-a551-1afdf565c889"

# The only places where the deployed copy may differ from template.yaml, and why. Everything
# else is deployed as written (the differences are applied by `emulator_copy` and nowhere else).
DIFFERENCES = {
    "Function.CodeUri": "`sam build`/`sam deploy` would upload the zip to S3 and write its S3 URI here; "
                        "the test uploads the x86_64 zip to the emulator's S3 and writes that URI",
    "Function.Architectures": "MiniStack runs a provided.al2023 bootstrap as a native process, so the zip "
                              "holds an x86_64 build for this host (arm64 stays in template.yaml and `make build`)",
    "metric-math alarms": "MiniStack refuses CloudWatch alarms with Properties.Metrics ('metric math is not "
                          "supported'); cfn-lint and tests/template/test_template.py still check them",
}

# The central account mode (issue 25 part 2, README "Every account of an organisation"): a second stack from the same
# template with CentralSourceAccounts set, and templates/source-account.yaml in a source account. MiniStack takes a
# 12-digit access key id as the account id (ministack/core/responses.py), so the source account is real to it.
CENTRAL_STACK = "apigw-doctor-central"
SOURCE_ACCOUNT = "111111111111"
SOURCE_STACK = "apigw-doctor-source"
SOURCE_GROUP = f"API-Gateway-Execution-Logs_{API}/{STAGE}"  # the same API id and stage, in the source account
CENTRAL_OWN_GROUP = "API-Gateway-Execution-Logs_c3ntr4l0a1/prod"  # ApiLogGroupNames of the central stack
SOURCE_TEMPLATE = os.path.join(ROOT, "templates", "source-account.yaml")
CENTRAL_DIFFERENCES = {
    "CentralDestination (+ output CentralDestinationArn)":
        "MiniStack 1.5.33's CloudFormation refuses AWS::Logs::Destination ('Unrecognized resource types'); the test "
        "creates the same destination with PutDestination and PutDestinationPolicy (the template's policy, "
        "rendered), which MiniStack stores",
    "subscription delivery": "MiniStack delivers subscription filters to Lambda destinations only (a Kinesis or "
                             "logical destination is stored, nothing is sent): the test puts the records CloudWatch "
                             "Logs would put on the stream (a control message, then the source group's batch)",
}

results: list[tuple[str, Exception | None]] = []


def check(name, fn):
    try:
        fn()
        results.append((name, None))
        print(f"ok   {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
        results.append((name, e))
        print(f"FAIL {name}: {e}", flush=True)
        traceback.print_exc()


def wait_until(what, probe, seconds=60.0, every=0.5):
    end = time.time() + seconds
    last = None
    while time.time() < end:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {seconds:.0f} s (last: {last!r})")


# ------------------------------------------------------------------ the template, as deployed

def is_metric_math_alarm(res) -> bool:
    # Fn::ForEach loops (lists) are not resources themselves.
    return isinstance(res, dict) and res.get("Type") == "AWS::CloudWatch::Alarm" and "Metrics" in res.get("Properties", {})


def emulator_copy(template: dict) -> dict:
    t = copy.deepcopy(template)
    res = t["Resources"]
    fn = res["Function"]["Properties"]
    fn["CodeUri"] = f"s3://{BUCKET}/{KEY}"
    fn["Architectures"] = ["x86_64"]
    math = [k for k, r in res.items() if is_metric_math_alarm(r)]
    for k in math:
        del res[k]
    text = json.dumps(t)
    for k in math:
        assert f'"{k}"' not in text, f"{k} is referenced elsewhere in the template; removing it breaks the copy"
    return t


class FakePagers:
    """PagerDuty's /v2/enqueue and Opsgenie's /v2/alerts on 127.0.0.1, one server: each request kept
    (path, headers, JSON body) and answered 202, as the vendors do. MiniStack runs the function's bootstrap
    as a process on this machine, so the function reaches it at 127.0.0.1."""

    def __init__(self):
        self.got: list[dict] = []
        got = self.got

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    doc = json.loads(body or b"null")
                except ValueError:
                    doc = None
                got.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": doc})
                out = b'{"status":"success","message":"Event processed","result":"Request will be processed"}'
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def pagerduty(self) -> list[dict]:
        return [g for g in self.got if g["path"] == "/v2/enqueue"]

    def opsgenie(self) -> list[dict]:
        return [g for g in self.got if g["path"].startswith("/v2/alerts")]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def generator():
    spec = importlib.util.spec_from_file_location("generate", os.path.join(ROOT, "events", "generate.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


def zip_bootstrap(path: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bootstrap", date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = (0o100755 << 16)
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as f:
            z.writestr(info, f.read())
    return buf.getvalue()


# ------------------------------------------------------------------ the run

class Chain:
    def __init__(self, endpoint: str, bootstrap: str, template: str):
        self.endpoint = endpoint
        self.bootstrap = bootstrap
        cfg = Config(retries={"max_attempts": 2}, read_timeout=120)
        env = client_env(endpoint)
        self.c = lambda s: boto3.client(s, endpoint_url=endpoint, region_name=env["AWS_REGION"],
                                        aws_access_key_id="test", aws_secret_access_key="test", config=cfg)
        self.cfn, self.logs, self.sqs, self.sns = self.c("cloudformation"), self.c("logs"), self.c("sqs"), self.c("sns")
        self.lam, self.cw, self.s3, self.kin = self.c("lambda"), self.c("cloudwatch"), self.c("s3"), self.c("kinesis")
        self.ddb, self.events = self.c("dynamodb"), self.c("events")
        self.pagers = FakePagers()
        # The account MiniStack serves these credentials as: the `owner` of the subscription documents
        # it delivers, and so the account of the incidents the log events open.
        self.account = self.c("sts").get_caller_identity()["Account"]
        self.extra_invocations = 0  # direct invocations that are not log batches (the change events)
        self.first_timeout_alerts: list[dict] = []  # the SNS envelopes of the first timeout alert
        with open(template) as f:
            self.template = yaml.safe_load(f)
        self.deployed = emulator_copy(self.template)
        self.gen = generator()
        # Events stamped "now": the function (like CloudWatch) drops metric data older than two weeks.
        self.t0 = (int(time.time() * 1000) // 60_000) * 60_000 - 120_000
        self.gen.T0 = self.t0
        self.docs = self.gen.scenarios()
        self.invocations_done = 0   # batches the function handled, as the test drove them
        self.events_read = 0        # log events the function read and counted (duplicates excluded)
        self.counted: list[dict] = []  # the documents whose events it counted, in order
        self.outputs: dict[str, str] = {}
        self.alarm_notes: list[dict] = []  # CloudWatch alarm notifications on the alert topic
        # No cooldown, so that every alert below comes from its own batch; the update sets the default.
        declared = self.template.get("Parameters", {})
        self.update_parameter = next(
            (k, v) for k, v in [("AlertCooldownSeconds", ("0", "300")), ("IncidentUpdateSeconds", ("0", "900")),
                                ("NearLimitAlarmThreshold", ("5", "7"))] if k in declared)

    # -- stack

    def parameters(self, update=False, change_events="on"):
        """Realistic parameters; those template.yaml does not (or no longer) declare are left out."""
        declared = self.template.get("Parameters", {})
        first, second = self.update_parameter
        wanted = [
            {"ParameterKey": "ApiLogGroupNames", "ParameterValue": ",".join([EXEC_GROUP, ACCESS_GROUP, BACKEND_GROUP])},
            {"ParameterKey": "KinesisStreamArn", "ParameterValue": self.stream_arn},
            {"ParameterKey": "AlertEmail", "ParameterValue": "oncall@example.com"},
            {"ParameterKey": "MetricsNamespace", "ParameterValue": NAMESPACE},
            # Two near-limit requests per route are enough to alert (the sample has two per route).
            {"ParameterKey": "NearLimitAlertMin", "ParameterValue": "2"},
            # The update changes one engine setting (see update_parameter).
            {"ParameterKey": first, "ParameterValue": second[1] if update else second[0]},
            # CloudTrail change events to the function (the second update turns them off).
            {"ParameterKey": "ChangeEvents", "ParameterValue": change_events},
            # The pagers: parameter names (never keys) and the loopback stand-in for both vendors.
            {"ParameterKey": "PagerDutyRoutingKeyParameter", "ParameterValue": PD_PARAMETER},
            {"ParameterKey": "OpsgenieApiKeyParameter", "ParameterValue": OG_PARAMETER},
            {"ParameterKey": "PagerDutyEventsUrl", "ParameterValue": f"{self.pagers.url}/v2/enqueue"},
            {"ParameterKey": "OpsgenieApiUrl", "ParameterValue": self.pagers.url},
            # The update lets quiet incidents resolve after a minute, so that the pagers get their resolves.
            {"ParameterKey": "IncidentResolveSeconds", "ParameterValue": "60" if update else "600"},
        ]
        return [p for p in wanted if p["ParameterKey"] in declared]

    def wait_stack(self, want: str, seconds=180):
        def probe():
            try:
                s = self.cfn.describe_stacks(StackName=STACK)["Stacks"][0]
            except self.cfn.exceptions.ClientError as e:
                if want == "DELETE_COMPLETE" and "does not exist" in str(e):
                    return "DELETE_COMPLETE"
                raise
            status = s["StackStatus"]
            if status == want:
                return s
            if status.endswith("FAILED") or status.endswith("ROLLBACK_COMPLETE") or "ROLLBACK" in status:
                events = self.cfn.describe_stack_events(StackName=STACK)["StackEvents"]
                why = [f"{e['LogicalResourceId']} {e['ResourceStatus']}: {e.get('ResourceStatusReason', '')}"
                       for e in events if "FAILED" in e["ResourceStatus"]]
                raise AssertionError(f"stack {status}, not {want}:\n  " + "\n  ".join(why))
            return None
        return wait_until(f"stack {want}", probe, seconds, every=1)

    def setup(self):
        for g in [EXEC_GROUP, ACCESS_GROUP, BACKEND_GROUP]:
            self.logs.create_log_group(logGroupName=g)
            self.logs.create_log_stream(logGroupName=g, logStreamName="e2e")
        self.kin.create_stream(StreamName=STREAM_NAME, ShardCount=1)
        self.stream_arn = self.kin.describe_stream(StreamName=STREAM_NAME)["StreamDescription"]["StreamARN"]
        self.s3.create_bucket(Bucket=BUCKET)
        self.s3.put_object(Bucket=BUCKET, Key=KEY, Body=zip_bootstrap(self.bootstrap))
        ssm = self.c("ssm")
        for name, value in [(PD_PARAMETER, PD_KEY), (OG_PARAMETER, OG_KEY)]:
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        self.cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(self.deployed),
                              Parameters=self.parameters(),
                              Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        s = self.wait_stack("CREATE_COMPLETE")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])}
        self.function = self.outputs["FunctionName"]
        # Where the template's LoggingConfig sends the function's own log.
        logging_config = self.lam.get_function_configuration(FunctionName=self.function).get("LoggingConfig", {})
        self.fn_log_group = logging_config.get("LogGroup") or f"/aws/lambda/{self.function}"
        # The user's subscriber: an SQS queue on the alert topic, as a relay or automation would use.
        self.alerts_url = self.sqs.create_queue(QueueName="alerts-subscriber")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.alerts_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # The same queue also subscribes to the topics the template's alarms notify (the alert topic or
        # an alarm topic of their own); alarm notifications are told apart by their content.
        topics = {self.outputs["AlertTopicArn"]}
        for a in self.cw.describe_alarms()["MetricAlarms"]:
            topics.update(t for t in a.get("AlarmActions", []) if ":sns:" in t)
        for t in sorted(topics):
            self.sns.subscribe(TopicArn=t, Protocol="sqs", Endpoint=arn)

    # -- driving and reading

    def put(self, group: str, doc: dict):
        """PutLogEvents of one sample document's events into `group`: one batch for the subscription."""
        events = [{"timestamp": e["timestamp"], "message": e["message"]} for e in doc["logEvents"]]
        events.sort(key=lambda e: e["timestamp"])
        before = self.invocations_done
        self.logs.put_log_events(logGroupName=group, logStreamName="e2e", logEvents=events)
        self.invocations_done += 1
        self.events_read += len(events)
        self.counted.append(doc)
        return self.wait_invocations(self.invocations_done, f"the function's log after PutLogEvents #{before + 1}")

    def function_log(self) -> list[dict]:
        lines = []
        kw = {"logGroupName": self.fn_log_group}
        while True:
            try:
                r = self.logs.filter_log_events(**kw)
            except self.logs.exceptions.ResourceNotFoundException:
                return []
            for e in r["events"]:
                for line in e["message"].splitlines():
                    line = line.strip()
                    if line.startswith("{"):
                        try:
                            lines.append(json.loads(line))
                        except ValueError:
                            pass
            if not r.get("nextToken"):
                return lines
            kw["nextToken"] = r["nextToken"]

    def start_lines(self) -> int:
        n, kw = 0, {"logGroupName": self.fn_log_group}
        while True:
            r = self.logs.filter_log_events(**kw)
            n += sum(1 for e in r["events"] if e["message"].startswith("START RequestId"))
            if not r.get("nextToken"):
                return n
            kw["nextToken"] = r["nextToken"]

    def done_lines(self) -> list[dict]:
        # Batches only: a scheduled tick (no log events) is not one of the batches the test drove.
        return [l for l in self.function_log() if l.get("message") == "invocation done"
                and (l.get("log_events", 0) + l.get("duplicate_events", 0) > 0 or l.get("duplicate_batch"))]

    def wait_invocations(self, n: int, what: str) -> dict:
        lines = wait_until(f"{what}: {n} `invocation done` lines", lambda: (d := self.done_lines()) and len(d) >= n and d,
                           seconds=60)
        return lines[-1]

    def drain(self, url=None, wait=4.0) -> list[dict]:
        url = url or self.alerts_url
        msgs, end = [], time.time() + wait
        while time.time() < end:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            for m in got:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                body = json.loads(m["Body"])
                if url == self.alerts_url and is_alarm_notification(body):
                    self.alarm_notes.append(body)  # the template's alarms share the topic: kept apart
                else:
                    msgs.append(body)
            if got:
                end = max(end, time.time() + 1.5)
        return msgs

    def alerts(self, summary: dict) -> list[dict]:
        """The alerts of one batch on the subscriber: exactly as many as the function says it sent."""
        msgs = self.drain()
        assert len(msgs) == summary["alerts_sent"], (
            f"the function sent {summary['alerts_sent']} alerts, the subscriber got {len(msgs)}: "
            + "; ".join(m.get("Subject", "?") for m in msgs))
        return msgs

    def invoke(self, payload, async_=False):
        r = self.lam.invoke(FunctionName=self.function, Payload=json.dumps(payload).encode(),
                            InvocationType="Event" if async_ else "RequestResponse")
        return r, (None if async_ else json.loads(r["Payload"].read() or b"null"))


# ------------------------------------------------------------------ what a user sees in an alert

def is_alarm_notification(envelope: dict) -> bool:
    try:
        return "AlarmName" in json.loads(envelope.get("Message", ""))
    except ValueError:
        return False


def alert_parts(envelope: dict, examples_required=True) -> dict:
    """The SNS envelope an SQS subscriber gets, checked for shape, and its parts. Written against
    structure and keys, not wording: per-route alerts (`findings`, `count`) and incident alerts
    (`examples`, `affected`, `routes`) both pass."""
    assert envelope.get("Type") == "Notification", envelope
    subject = envelope["Subject"]
    assert subject and len(subject) < 100 and not any(ord(c) < 32 for c in subject), subject
    body = json.loads(envelope["Message"])  # the `sqs` rendering: the automation JSON
    note = body["notification"]
    assert note["subject"] == subject, (note["subject"], subject)
    email = note["email"]
    assert isinstance(email, str) and email.strip(), note
    chatbot = note["chatbot"] if isinstance(note["chatbot"], dict) else json.loads(note["chatbot"])
    # AWS Chatbot custom notification schema (what Slack shows), not our wording.
    assert chatbot["version"] == "1.0" and chatbot["source"] == "custom", chatbot
    assert chatbot["content"]["textType"] == "client-markdown", chatbot
    assert chatbot["content"]["title"] and chatbot["content"]["description"], chatbot
    assert chatbot["metadata"]["threadId"], chatbot
    for secret in SECRETS:
        assert secret not in json.dumps(envelope), f"secret {secret} reached an alert"
    findings = body.get("findings", body.get("examples")) or []
    if examples_required:
        assert findings and len(findings) <= 5, len(findings)
    for f in findings:
        # Every example the subscriber gets is named in the e-mail, so a human can look it up.
        # (A backend function's own log names no API request, and so no API.)
        if f.get("request_id"):
            assert f["request_id"] in email, (f["request_id"], email[:400])
            assert f["api_id"] == API and f["stage"] == STAGE, f
    count = body.get("count", body.get("affected"))
    assert isinstance(count, int) and count >= len(findings), (count, len(findings))
    routes = {f["route"] for f in findings} | {r["route"] for r in body.get("routes", [])}
    return {"subject": subject, "body": body, "email": email, "chatbot": chatbot, "findings": findings,
            "count": count, "routes": routes, "kind": body.get("kind")}


def per_route(done: dict) -> bool:
    """True for the per-route alerts (one per route and kind); incident alerts carry `incidents`."""
    return "incidents" not in done


def covering(parts, kind) -> tuple[set, int, dict]:
    """Routes, total count and the findings by request id of the alerts of one kind."""
    mine = [p for p in parts if p["kind"] == kind]
    return ({r for p in mine for r in p["routes"]}, sum(p["count"] for p in mine),
            {f["request_id"]: f for p in mine for f in p["findings"]})


# ------------------------------------------------------------------ CloudTrail change events

def iso_utc(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def change_event(account: str, event_ms: int, event_name="UpdateIntegration", event_id=CHANGE_ID,
                 request_parameters=None, read_only=False) -> dict:
    """An EventBridge "AWS API Call via CloudTrail" event of API Gateway, built from the fixtures: the envelope
    of eventbridge-api-call-lambda.json around the REST record of s3-log-file-records.json (UpdateStage),
    made an `event_name` on the e2e's API by alice (an IAM user) at `event_ms` (CloudTrail: to the second)."""
    with open(os.path.join(CLOUDTRAIL, "eventbridge-api-call-lambda.json")) as f:
        envelope = json.load(f)
    with open(os.path.join(CLOUDTRAIL, "s3-log-file-records.json")) as f:
        [record] = [r for r in json.load(f)["Records"] if r["eventName"] == "UpdateStage"]
    when = iso_utc(event_ms)
    record.update({
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEALICE00001",
                         "arn": f"arn:aws:iam::{account}:user/{CHANGE_USER}", "accountId": account,
                         "accessKeyId": "AKIAEXAMPLEALICE0001", "userName": CHANGE_USER},
        "eventTime": when, "eventName": event_name, "awsRegion": "us-east-1",
        "userAgent": "aws-cli/2.22.0 md/command#apigateway." + event_name.lower(),
        "requestParameters": request_parameters if request_parameters is not None else {
            "restApiId": API, "resourceId": "r3s0u1", "httpMethod": "PUT",
            "patchOperations": [{"op": "replace", "path": "/timeoutInMillis", "value": "5000"}]},
        "responseElements": None, "eventID": event_id, "requestID": event_id[::-1], "readOnly": read_only,
        "recipientAccountId": account,
    })
    envelope.update({"id": event_id[:-4] + "eb01", "source": "aws.apigateway", "account": account, "time": when,
                     "region": "us-east-1", "resources": [], "detail": record})
    return envelope


def change_sort_key(event: dict) -> str:
    """The incidents-table sort key of a change: its eventTime in epoch ms, 13 digits, then its eventID."""
    detail = event["detail"]
    ms = calendar.timegm(time.strptime(detail["eventTime"], "%Y-%m-%dT%H:%M:%SZ")) * 1000
    return f"{ms:013d}#{detail['eventID']}"


def section(text: str, heading: str) -> str | None:
    """The lines of an e-mail under `heading`, up to the next heading (a line in capitals), or None."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(heading):
            rest = []
            for line_below in lines[i + 1:]:
                t = line_below.strip()
                if (t and t == t.upper() and any(c.isalpha() for c in t) and not line_below[0].isspace()
                        and not t.startswith(("-", "*", "•"))):
                    break
                rest.append(line_below)
            return "\n".join(rest)
    return None


# ------------------------------------------------------------------ the checks

def run_checks(ch: Chain, keep: bool):
    gen, docs = ch.gen, ch.docs

    def stack_is_the_template():
        created = {r["LogicalResourceId"]: r["ResourceStatus"] for r in
                   ch.cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]}
        unconditional = [k for k, r in ch.deployed["Resources"].items() if isinstance(r, dict)
                         and "Condition" not in r and not r["Type"].startswith("AWS::Serverless::")]
        missing = [k for k in unconditional if created.get(k) != "CREATE_COMPLETE"]
        assert not missing, f"not created: {missing}"
        fn = ch.lam.get_function_configuration(FunctionName=ch.function)
        assert fn["Runtime"] == "provided.al2023" and fn["Architectures"] == ["x86_64"], fn
        env = fn["Environment"]["Variables"]
        assert env["METRICS_NAMESPACE"] == NAMESPACE and env["ALERT_TOPIC_ARN"] == ch.outputs["AlertTopicArn"], env
        assert env["NEAR_LIMIT_ALERT_MIN"] == "2", env
        for g in [EXEC_GROUP, ACCESS_GROUP, BACKEND_GROUP]:
            subs = ch.logs.describe_subscription_filters(logGroupName=g)["subscriptionFilters"]
            assert len(subs) == 1 and subs[0]["destinationArn"].split(":function:")[-1].startswith(ch.function), (g, subs)
        eic = ch.lam.get_function_event_invoke_config(FunctionName=ch.function, Qualifier="$LATEST")
        failure_arn = ch.sqs.get_queue_attributes(QueueUrl=ch.outputs["FailureQueueUrl"],
                                                  AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert eic["MaximumRetryAttempts"] == 2, eic
        assert eic["DestinationConfig"]["OnFailure"]["Destination"] == failure_arn, eic
        esm = ch.lam.list_event_source_mappings(FunctionName=ch.function)["EventSourceMappings"]
        assert [m["EventSourceArn"] for m in esm] == [ch.stream_arn], esm
        alarms = {a["AlarmName"] for a in ch.cw.describe_alarms()["MetricAlarms"]}
        plain = [k for k, r in ch.template["Resources"].items()
                 if isinstance(r, dict) and r["Type"] == "AWS::CloudWatch::Alarm" and not is_metric_math_alarm(r)]
        assert len(alarms) >= len(plain), (alarms, plain)
        subs = ch.sns.list_subscriptions_by_topic(TopicArn=ch.outputs["AlertTopicArn"])["Subscriptions"]
        assert {"email", "sqs"} <= {s["Protocol"] for s in subs}, subs
        for k, r in ch.template["Resources"].items():
            if isinstance(r, dict) and r["Type"] == "AWS::DynamoDB::Table":
                physical = ch.cfn.describe_stack_resource(StackName=STACK, LogicalResourceId=k)
                name = physical["StackResourceDetail"]["PhysicalResourceId"]
                ch.c("dynamodb").describe_table(TableName=name)

    def the_emulator_still_lacks_metric_math():
        # The one resource difference kept for an emulator gap: if MiniStack learns metric math, this
        # fails, and the copy should deploy template.yaml's alarms as they are.
        math = {k: r for k, r in ch.template["Resources"].items() if is_metric_math_alarm(r)}
        if not math:
            return
        name, alarm = next(iter(math.items()))
        alarm = copy.deepcopy(alarm)
        alarm["Properties"].pop("AlarmActions", None)
        alarm["Properties"]["Metrics"][0]["Expression"] = "SELECT SUM(IntegrationTimeouts) FROM SCHEMA(\"X\", ApiId, Stage)"
        ch.cfn.create_stack(StackName="metric-math-probe",
                            TemplateBody=json.dumps({"AWSTemplateFormatVersion": "2010-09-09",
                                                     "Resources": {name: alarm}}))
        def settled():
            st = ch.cfn.describe_stacks(StackName="metric-math-probe")["Stacks"][0]["StackStatus"]
            return None if st.endswith("IN_PROGRESS") else st
        status = wait_until("the metric-math probe stack", settled, seconds=60)
        assert status != "CREATE_COMPLETE", "MiniStack now creates metric-math alarms: deploy them, drop the difference"
        reasons = " ".join(e.get("ResourceStatusReason", "") for e in
                           ch.cfn.describe_stack_events(StackName="metric-math-probe")["StackEvents"])
        assert "metric math" in reasons.lower(), f"the probe failed for another reason: {reasons}"
        ch.cfn.delete_stack(StackName="metric-math-probe")

    def the_default_scope_installs_no_account_policy_and_the_emulator_has_none():
        # SubscriptionScope defaults to log-groups: the per-group filters (stack_is_the_template), no account policy;
        # its condition is false, which is also why MiniStack accepts a template that names AWS::Logs::AccountPolicy.
        policies = [k for k, r in ch.deployed["Resources"].items()
                    if isinstance(r, dict) and r.get("Type") == "AWS::Logs::AccountPolicy"]
        created = {r["LogicalResourceId"] for r in
                   ch.cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]}
        assert policies and not set(policies) & created, (policies, sorted(set(policies) & created))
        # Why SubscriptionScope=account is not deployed here (README "Every log group of the account"): MiniStack has
        # no PutAccountPolicy. If it learns it, this fails: deploy the account scope in this test too.
        try:
            ch.logs.put_account_policy(
                policyName="apigw-doctor-probe", policyType="SUBSCRIPTION_FILTER_POLICY",
                policyDocument=json.dumps({"DestinationArn": ch.lam.get_function(FunctionName=ch.function)
                                           ["Configuration"]["FunctionArn"], "FilterPattern": ""}),
                selectionCriteria='LogGroupName NOT IN ["/aws/lambda/apigw-doctor-probe"]')
        except ch.logs.exceptions.ClientError as e:
            assert "PutAccountPolicy" in str(e), f"refused for another reason: {e}"
        else:
            ch.logs.delete_account_policy(policyName="apigw-doctor-probe", policyType="SUBSCRIPTION_FILTER_POLICY")
            raise AssertionError("MiniStack now has PutAccountPolicy: deploy SubscriptionScope=account here too")

    # -- CloudTrail change events (README "What changed"): the rule as deployed, then the event it would deliver.
    # Three minutes before the e2e's log events (ch.t0), on their API: the timeouts below open an incident after it.
    change = change_event(ch.account, ch.t0 - 180_000)
    has_change_rule = CHANGE_RULE in ch.template["Resources"]
    read_id = CHANGE_ID[:-4] + "0ead"
    read = change_event(ch.account, ch.t0 - 170_000, event_name="GetRestApi", event_id=read_id,
                        request_parameters={"restApiId": API}, read_only=True)

    def change_rule() -> dict:
        physical = ch.cfn.describe_stack_resource(StackName=STACK, LogicalResourceId=CHANGE_RULE)
        return ch.events.describe_rule(Name=physical["StackResourceDetail"]["PhysicalResourceId"])

    def function_arn() -> str:
        return ch.lam.get_function_configuration(FunctionName=ch.function)["FunctionArn"]

    def statements_for(rule_arn: str) -> list[dict]:
        try:
            policy = json.loads(ch.lam.get_policy(FunctionName=ch.function)["Policy"])
        except ch.lam.exceptions.ResourceNotFoundException:
            return []
        return [st for st in policy["Statement"]
                if (st.get("Condition") or {}).get("ArnLike", {}).get("AWS:SourceArn") == rule_arn]

    def the_stack_has_the_change_rule():
        rule = change_rule()
        want = ch.template["Resources"][CHANGE_RULE]["Properties"]
        assert rule["State"] == "ENABLED" and rule.get("EventBusName", "default") == "default", rule
        assert json.loads(rule["EventPattern"]) == want["EventPattern"], rule["EventPattern"]
        targets = ch.events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert [t["Arn"] for t in targets] == [function_arn()], targets
        assert not any(k in t for t in targets for k in ("Input", "InputPath", "InputTransformer")), targets
        assert rule["Name"] in ch.events.list_rule_names_by_target(TargetArn=function_arn())["RuleNames"]
        # EventBridge may invoke the function for this rule (and the permission names exactly this rule).
        [st] = statements_for(rule["Arn"])
        principal = st["Principal"]["Service"] if isinstance(st["Principal"], dict) else st["Principal"]
        assert principal == "events.amazonaws.com" and st["Action"] == "lambda:InvokeFunction", st
        env = ch.lam.get_function_configuration(FunctionName=ch.function)["Environment"]["Variables"]
        assert env.get("CHANGE_EVENTS") == "on" and env.get("CHANGE_WINDOW_MINUTES") == "60", env
        # The deployed pattern, through the emulator's matcher (the one its rules dispatch with), against the
        # event the test sends, a Lambda change with its API-version suffix (matched by prefix) and a read.
        def matches(event):
            return ch.events.test_event_pattern(EventPattern=rule["EventPattern"], Event=json.dumps(event))["Result"]
        with open(os.path.join(CLOUDTRAIL, "eventbridge-api-call-lambda.json")) as f:
            lambda_change = json.load(f)
        assert matches(change), "the rule does not match the UpdateIntegration event"
        assert matches(lambda_change), "the rule does not match " + lambda_change["detail"]["eventName"]
        assert not matches(read), "the rule matches a GetRestApi read"

    def eventbridge_refuses_aws_sources_so_the_change_is_invoked():
        # Why the change event below is invoked directly: PutEvents refuses `aws.*` sources (AWS does too; only
        # AWS services put them), and MiniStack's CloudTrail records calls for LookupEvents without putting
        # "AWS API Call via CloudTrail" events on the bus. If this starts to pass through, send it with PutEvents.
        r = ch.events.put_events(Entries=[{"Source": change["source"], "DetailType": change["detail-type"],
                                           "Detail": json.dumps(change["detail"]), "EventBusName": "default"}])
        [entry] = r["Entries"]
        assert r["FailedEntryCount"] == 1 and entry.get("ErrorCode") == "NotAuthorizedForSourceException", (
            f"PutEvents accepted source {change['source']}: deliver the change event through EventBridge now", r)

    def items_of(pk: str) -> list[dict]:
        items, kw = [], {"TableName": ch.outputs["IncidentsTableName"], "KeyConditionExpression": "pk = :pk",
                         "ExpressionAttributeValues": {":pk": {"S": pk}}}
        while True:
            r = ch.ddb.query(**kw)
            items += r["Items"]
            if not r.get("LastEvaluatedKey"):
                return items
            kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]

    def change_items() -> list[dict]:
        return items_of(f"change#{ch.account}")

    def the_error_budget_is_counted_in_the_table():
        # Every batch's requests were added per SLO, route and minute (the default SLO, 99.9 %/30 d):
        # the index names the API stage, and its hour items hold the timeouts the metrics counted.
        index = [json.loads(i["body"]["S"]) for i in items_of("slos")]
        mine = [k for k in index if k.get("api_id") == API and k.get("stage") == STAGE]
        assert mine, index
        key = mine[0]
        pk = "slo#" + "#".join([key.get("account") or "-", API, STAGE])
        hours = [i for i in items_of(pk) if i["sk"]["S"].startswith("h#")]
        total = sum(int(v["N"]) for i in hours for k, v in i.items() if k.startswith("m") and k.endswith("t"))
        bad = sum(int(v["N"]) for i in hours for k, v in i.items() if k.startswith("m") and k.endswith("b"))
        days = [i for i in items_of(pk) if i["sk"]["S"].startswith("d#")]
        assert total > 0 and bad >= 3, (total, bad, [i["sk"]["S"] for i in hours])
        # The day items hold the same requests as the minutes.
        assert sum(int(i["t"]["N"]) for i in days) == total, (days, total)
        assert sum(int(i["b"]["N"]) for i in days) == bad, (days, bad)

    def invoke_change(event) -> dict:
        # Lambda Invoke (RequestResponse) of the event the rule would deliver: see the module docstring.
        r, body = ch.invoke(event)
        ch.extra_invocations += 1
        assert not r.get("FunctionError"), body
        return body

    def the_function_records_a_change_event_sent_to_it():
        body = invoke_change(change)
        assert body.get("changes_recorded") == 1, body
        mine = [i for i in change_items() if i["sk"]["S"].endswith("#" + CHANGE_ID)]
        assert [i["sk"]["S"] for i in mine] == [change_sort_key(change)], [i["sk"] for i in mine]
        [item] = mine
        stored = json.loads(item["body"]["S"])
        text = json.dumps(stored)
        assert isinstance(stored, dict), stored
        for needle in [CHANGE_ID, "UpdateIntegration", API, CHANGE_USER, "5000"]:
            assert needle in text, (needle, stored)
        # A TTL in epoch seconds (DynamoDB's unit), in the future and not years away.
        expires = float(item["expires_at"]["N"])
        assert time.time() < expires < time.time() + 400 * 86400, item["expires_at"]
        # EventBridge delivers at least once: the same event again leaves the one item as it was.
        again = invoke_change(change)
        assert again.get("changes_recorded", 0) + again.get("changes_ignored", 0) <= 1, again
        mine = [i for i in change_items() if i["sk"]["S"].endswith("#" + CHANGE_ID)]
        assert len(mine) == 1 and json.loads(mine[0]["body"]["S"]) == stored, mine
        # A read the rule would not even send is no change: ignored, and nothing written.
        body = invoke_change(read)
        assert body.get("changes_ignored") == 1 and body.get("changes_recorded", 0) == 0, body
        assert not [i for i in change_items() if read_id in i["sk"]["S"]]

    def the_first_timeout_alert_says_what_changed():
        # The split timeout above (PUT /orders/{orderId} on API/STAGE) opened the API's first incident, three
        # minutes after alice's UpdateIntegration: its e-mail names the change.
        assert ch.first_timeout_alerts, "no timeout alert was received (see the split-timeout check)"
        emails = [alert_parts(m)["email"] for m in ch.first_timeout_alerts]
        found = [section(e, "WHAT CHANGED") for e in emails]
        assert any(f is not None for f in found), "no WHAT CHANGED line in:\n" + "\n---\n".join(emails)
        text = next(f for f in found if f is not None)
        for needle in ["UpdateIntegration", CHANGE_USER, "5000"]:
            assert needle in text, (needle, "WHAT CHANGED\n" + text)

    def clean_minute_sends_no_alert():
        done = ch.put(EXEC_GROUP, docs["clean"])
        assert done["timeouts"] == 0 and done["alerts_sent"] == 0 and done["metric_calls"] == 1, done
        assert ch.alerts(done) == [], "an alert for clean traffic"

    def timeout_split_over_two_batches_alerts_once():
        done = ch.put(EXEC_GROUP, docs["split-part1"])
        assert done["pending_requests"] == 1 and done["alerts_sent"] == 0, done
        assert ch.alerts(done) == []
        done = ch.put(EXEC_GROUP, docs["split-part2"])
        assert done["timeouts"] == 1 and done["alerts_sent"] == 1 and done["pending_requests"] == 0, done
        ch.first_timeout_alerts = ch.alerts(done)  # read again by the_first_timeout_alert_says_what_changed
        routes, count, found = covering([alert_parts(m) for m in ch.first_timeout_alerts], "timeout")
        assert routes == {"PUT /orders/{orderId}"} and count == 1, (routes, count)
        f = found[gen.rid(8)]
        assert f["invoked"] is True and f["elapsed_ms"] == 29003 and f["status"] == 504, f

    def healthy_request_split_end_first_is_counted_once_on_its_route():
        # Its end reaches the function first (a late batch, or another container): left out there,
        # written to the table; its start then joins it and counts it, once, on its route.
        rid, t = "5eed0000-0000-4000-8000-0000000e2e51", ch.t0 + 5_000
        uri = f"https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:widgets/invocations"
        start = [(t, f"Starting execution for request: {rid}"), (t, "HTTP Method: GET, Resource Path: /widgets/w-1"),
                 (t, "API Key authorized because method 'GET /widgets/{widgetId}' does not require API Key. "
                     "Request will not contribute to throttle or quota limits"),
                 (t + 1, f"Sending request to {uri}")]
        end = [(t + 501, "Received response. Status: 200, Integration latency: 500 ms"),
               (t + 501, "Method completed with status: 200")]
        doc = lambda lines: {"logEvents": [{"timestamp": ts, "message": f"({rid}) {m}"} for ts, m in lines]}  # noqa: E731
        done = ch.put(EXEC_GROUP, doc(end))
        assert done["halves_written"] == 1 and done["deferred"] == 1 and done["state_errors"] == 0, done
        done = ch.put(EXEC_GROUP, doc(start))
        assert done["halves_written"] == 1 and done["joined"] == 1 and done["state_errors"] == 0, done
        assert ch.alerts(done) == []

    def near_limit_burst_alerts():
        done = ch.put(EXEC_GROUP, docs["near-limit"])
        assert done["near_limit"] == 6, done
        parts = [alert_parts(m) for m in ch.alerts(done)]
        # Per route: one alert for each of the three routes; as an incident: one alert for all three.
        assert done["alerts_sent"] == (3 if per_route(done) else 1), done
        routes, count, found = covering(parts, "near_limit")
        assert routes == {"GET /orders", "POST /orders", "GET /orders/{orderId}"}, routes
        assert count == 6, count  # two near-limit requests per route in the sample
        assert all(25_000 <= f["integration_latency_ms"] < 29_000 for f in found.values()), found

    def function_error_alerts():
        done = ch.put(EXEC_GROUP, docs["function-timeout-502"])
        assert done["errors"] == 1 and done["alerts_sent"] == 1, done
        [a] = [alert_parts(m) for m in ch.alerts(done)]
        [f] = a["findings"]
        assert f["route"] == "GET /orders/{orderId}" and f["status"] == 502, f
        assert a["kind"] != "timeout" and a["count"] == 1, (a["kind"], a["count"])
        # The backend function's own log (its 60 s timeout against the gateway's 29 s).
        done = ch.put(BACKEND_GROUP, docs["backend-lambda-log"])
        assert done["misconfigurations"] + done["errors"] >= 1, done
        for m in ch.alerts(done):
            a = alert_parts(m, examples_required=False)
            assert "orders-api" in a["subject"] + json.dumps(a["body"].get("backend")), a["subject"]

    def access_log_504_alerts():
        done = ch.put(ACCESS_GROUP, docs["access-log"])
        assert done["timeouts"] == 1 and done["errors"] >= 1, done
        parts = [alert_parts(m) for m in ch.alerts(done)]
        if per_route(done):
            # The 504 on POST .../pay and the function error on GET /orders/{orderId}.
            assert done["alerts_sent"] == 2 and sorted(p["kind"] for p in parts).count("timeout") == 1, parts
        # As incidents both join the ones opened above; an update, if sent, shows them.
        routes, _, found = covering(parts, "timeout")
        if per_route(done) or gen.rid(602) in found:
            f = found[gen.rid(602)]
            assert f["route"] == "POST /orders/{orderId}/pay" and f["status"] == 504, f

    # Carried over from the LocalStack e2e: the paths a subscription cannot drive on purpose.
    timeout_payload = {"awslogs": {"data": gen.encode(docs["timeout-info"])}}

    def timeout_batch_alerts_and_redelivery_does_not():
        _, s = ch.invoke(timeout_payload)
        assert s["timeouts"] == 1 and s["metric_calls"] == 1, s
        ch.invocations_done += 1
        ch.events_read += len(docs["timeout-info"]["logEvents"])
        ch.counted.append(docs["timeout-info"])
        parts = [alert_parts(m) for m in ch.alerts(s)]
        if per_route(s):
            assert s["alerts_sent"] == 1, s
        _, _, found = covering(parts, "timeout")
        if parts:
            f = found[gen.rid(1)]
            assert f["route"] == "POST /orders/{orderId}/pay" and f["invoked"] is True and f["elapsed_ms"] == 29003, f
        # Lambda retries a batch whose invocation failed: the same event ids again.
        _, s = ch.invoke(timeout_payload)
        ch.invocations_done += 1
        # (Counted event by event, or recognised as a whole batch already handled.)
        assert s["duplicate_events"] == len(docs["timeout-info"]["logEvents"]) or s.get("duplicate_batch") is True, s
        assert s["alerts_sent"] == 0, s
        assert ch.alerts(s) == []

    def kinesis_batch_through_the_event_source_mapping():
        records = [{"Data": gzip_doc(gen, docs[n]), "PartitionKey": "p"} for n in ["timeout-info", "near-limit"]]
        ch.kin.put_records(StreamName=STREAM_NAME, Records=records)
        ch.invocations_done += 1
        # timeout-info was handled above (duplicates); near-limit's generator ids are new here.
        ch.events_read += len(docs["near-limit"]["logEvents"])
        ch.counted.append(docs["near-limit"])
        done = ch.wait_invocations(ch.invocations_done, "the Kinesis batch")
        assert done["duplicate_events"] == len(docs["timeout-info"]["logEvents"]), done
        assert done["near_limit"] == 6, done
        # New near-limit findings on the three routes: per route, three alerts; as an incident, an update or none.
        parts = [alert_parts(m) for m in ch.alerts(done)]
        if per_route(done):
            assert done["alerts_sent"] == 3 and len(covering(parts, "near_limit")[0]) == 3, done

    malformed = {"awslogs": {"data": base64.b64encode(b"this is not gzip").decode()}}

    def malformed_batch_fails_clearly():
        r, body = ch.invoke(malformed)
        assert r.get("FunctionError"), r
        assert "not gzip" in json.dumps(body), body
        # The error type names the failure (lambda/diagnostic.rs), not the Rust type.
        assert body.get("errorType") == "BatchRejected", body
        failed = [l for l in ch.function_log() if l.get("message") == "invocation failed"]
        assert failed and "not gzip" in failed[-1].get("error", ""), failed[-1:]

    def malformed_async_ends_in_the_failure_queue():
        ch.invoke(malformed, async_=True)
        # MiniStack retries (MaximumRetryAttempts 2) after 1 s and 2 s, then sends the record to OnFailure.
        msgs = wait_until("a record in the failure queue",
                          lambda: ch.drain(ch.outputs["FailureQueueUrl"], wait=2), seconds=60)
        assert len(msgs) == 1, msgs
        rec = msgs[0]
        assert rec["requestContext"]["condition"] == "RetriesExhausted", rec["requestContext"]
        assert rec["requestContext"]["approximateInvokeCount"] == 3, rec["requestContext"]
        assert rec["requestPayload"] == malformed, rec["requestPayload"]
        assert (rec.get("responsePayload") or {}).get("errorType") == "BatchRejected", rec.get("responsePayload")
        others = ch.drain()
        assert others == [], "a rejected batch sent an alert: " + json.dumps(others)[:3000]

    def schedules(template) -> list[str]:
        fn_events = template["Resources"]["Function"]["Properties"].get("Events", {})
        sam = [k for k, e in fn_events.items() if isinstance(e, dict) and e.get("Type") in ("Schedule", "ScheduleV2")]
        raw = [k for k, r in template["Resources"].items()
               if isinstance(r, dict) and r["Type"] in ("AWS::Events::Rule", "AWS::Scheduler::Schedule")
               and "ScheduleExpression" in r.get("Properties", {})]
        return sam + raw

    def the_schedule_invokes_the_function():
        arn = ch.lam.get_function_configuration(FunctionName=ch.function)["FunctionArn"]
        rules = ch.c("events").list_rule_names_by_target(TargetArn=arn)["RuleNames"]
        assert rules, f"no EventBridge rule targets the function (template: {schedules(ch.template)})"
        # Every invocation leaves a START line; more of them than the test drove means the schedule ran.
        # + the malformed sync invoke and the three async tries, and the change events invoked directly
        driven = ch.invocations_done + 4 + ch.extra_invocations
        wait_until("an invocation by the schedule (START lines beyond the driven ones)",
                   lambda: ch.start_lines() > driven, seconds=90, every=2)

    def function_errors_alarm_notifies_the_topic():
        # The sync and async malformed invocations are Lambda Errors: the template's alarm fires.
        def fired():
            ch.drain(wait=1)
            return [n for n in ch.alarm_notes if "FunctionErrorsAlarm" in json.loads(n["Message"])["AlarmName"]
                    and json.loads(n["Message"])["NewStateValue"] == "ALARM"]
        [note] = wait_until("the FunctionErrors alarm's notification on the alert topic", fired, seconds=90)[:1]
        msg = json.loads(note["Message"])
        assert note["Subject"].startswith("ALARM") and msg["NewStateValue"] == "ALARM", note
        assert msg["Trigger"]["Namespace"] == "AWS/Lambda" and msg["Trigger"]["MetricName"] == "Errors", msg

    def one_invocation_done_per_batch():
        time.sleep(1)
        done = ch.done_lines()
        assert len(done) == ch.invocations_done, (len(done), ch.invocations_done)
        assert sum(d["log_events"] for d in done) == ch.events_read, (sum(d["log_events"] for d in done), ch.events_read)
        failed = [l for l in ch.function_log()
                  if l.get("message") == "invocation failed" and "not gzip" in l.get("error", "")]
        assert len(failed) == 4, f"{len(failed)} rejected batches, expected 1 sync + 3 async tries"

    def metrics_are_listed_and_right():
        names: dict[str, set] = {}
        for page in ch.cw.get_paginator("list_metrics").paginate(Namespace=NAMESPACE):
            for m in page["Metrics"]:
                names.setdefault(m["MetricName"], set()).add(tuple(sorted(d["Name"] for d in m.get("Dimensions", []))))
        for n in ["IntegrationTimeouts", "NearLimitRequests", "IntegrationLatency"]:
            assert ("ApiId", "Stage") in names.get(n, set()), (n, names)
            assert ("ApiId", "Route", "Stage") in names.get(n, set()), (n, names)
        assert ("ApiId", "Cause", "Stage") in names.get("IntegrationErrors", set()), names
        assert () in names.get("LogEventsProcessed", set()) and () in names.get("BatchesRejected", set()), names

        def stat(name, dims, s):
            r = ch.cw.get_metric_statistics(Namespace=NAMESPACE, MetricName=name, Period=3600, Statistics=[s],
                                            StartTime=(ch.t0 - 3_600_000) / 1000, EndTime=time.time() + 3600,
                                            Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()])
            return sum(p[s] for p in r["Datapoints"])

        api = {"ApiId": API, "Stage": STAGE}
        route = lambda r: dict(api, Route=r)  # noqa: E731
        # Ground truth from the generator: one timeout in timeout-info (counted once, not on redelivery
        # or through Kinesis), one in the access log, one split over two batches.
        got = {r: stat("IntegrationTimeouts", route(r), "Sum") for r in ["POST /orders/{orderId}/pay", "PUT /orders/{orderId}"]}
        assert got == {"POST /orders/{orderId}/pay": 2, "PUT /orders/{orderId}": 1}, got
        assert stat("IntegrationTimeouts", api, "Sum") == 3
        # Two near-limit requests on GET /orders in near-limit, delivered twice with new ids
        # (subscription, then Kinesis with the generator's ids).
        assert stat("NearLimitRequests", route("GET /orders"), "Sum") == 4
        # Every integration latency the logs reported for GET /orders (a route with no timeout), read
        # back from the documents the function counted.
        lat = [v for d in ch.counted for v in integration_latencies(d, "GET", "/orders")]
        got = {s: stat("IntegrationLatency", route("GET /orders"), s) for s in ["SampleCount", "Minimum", "Maximum", "Sum"]}
        assert got == {"SampleCount": len(lat), "Minimum": min(lat), "Maximum": max(lat), "Sum": sum(lat)}, (got, len(lat))
        # The request split end first: counted once, on its route, with its latency.
        widgets = route("GET /widgets/{widgetId}")
        got = (stat("Requests", widgets, "Sum"), stat("IntegrationLatency", widgets, "SampleCount"),
               stat("IntegrationLatency", widgets, "Maximum"))
        assert got == (1, 1, 500), got
        # timeout-info's fastest answered POST .../pay request took 300 ms.
        assert stat("IntegrationLatency", route("POST /orders/{orderId}/pay"), "Minimum") == 300
        assert stat("LogEventsProcessed", {}, "Sum") == ch.events_read, (stat("LogEventsProcessed", {}, "Sum"), ch.events_read)
        assert stat("BatchesRejected", {}, "Sum") == 4, stat("BatchesRejected", {}, "Sum")  # 1 sync + 3 async tries

    check("the stack deployed from template.yaml is the template", stack_is_the_template)
    check("the emulator still refuses metric-math alarms (the reason they are left out)", the_emulator_still_lacks_metric_math)
    check("the default scope installs no account policy, and MiniStack has no PutAccountPolicy (why the account scope "
          "is not deployed here)", the_default_scope_installs_no_account_policy_and_the_emulator_has_none)
    if has_change_rule:
        check("the stack has the CloudTrail change rule, targeting the function", the_stack_has_the_change_rule)
        check("PutEvents refuses aws.* sources (as AWS does): the change event is invoked directly",
              eventbridge_refuses_aws_sources_so_the_change_is_invoked)
        check("the function records a change event sent to it, once", the_function_records_a_change_event_sent_to_it)
    check("a clean minute sends no alert", clean_minute_sends_no_alert)
    check("a timeout split over two batches alerts once, joined", timeout_split_over_two_batches_alerts_once)
    if has_change_rule:
        check("the first timeout alert after the change says WHAT CHANGED", the_first_timeout_alert_says_what_changed)
    check("a healthy request split over two batches, end first, is joined through the table",
          healthy_request_split_end_first_is_counted_once_on_its_route)
    check("a near-limit burst alerts (per route, or as one incident)", near_limit_burst_alerts)
    check("a function error (and the backend's own log) alerts", function_error_alerts)
    check("an access-log 504 alerts", access_log_504_alerts)
    check("a timeout batch alerts; the same batch redelivered does not", timeout_batch_alerts_and_redelivery_does_not)
    check("a Kinesis batch reaches the function through the event source mapping", kinesis_batch_through_the_event_source_mapping)
    check("a malformed batch fails the invocation with a clear message", malformed_batch_fails_clearly)
    check("a malformed async payload ends in the failure queue after the retries", malformed_async_ends_in_the_failure_queue)
    check("the FunctionErrors alarm notifies its topic", function_errors_alarm_notifies_the_topic)
    if schedules(ch.template):
        check("the schedule invokes the function", the_schedule_invokes_the_function)
    check("the function's log has one `invocation done` per batch", one_invocation_done_per_batch)
    check("ListMetrics shows the metrics and the values read back are right", metrics_are_listed_and_right)
    check("the error budget's counts are in the state table, minutes and days alike", the_error_budget_is_counted_in_the_table)

    if keep:
        print(f"\nThe stack {STACK} is up on {ch.endpoint}. With these variables, boto3 (in .venv) or the AWS CLI\n"
              "talk to it:\n" + "".join(f"  export {k}={v}\n" for k, v in client_env(ch.endpoint).items())
              + "".join(f"  {k}: {v}\n" for k, v in ch.outputs.items())
              + f"  subscribed log groups: {EXEC_GROUP}, {ACCESS_GROUP}, {BACKEND_GROUP} (stream e2e);"
              f" alerts also land in the SQS queue {ch.alerts_url}\n"
              "Press Enter to update and delete the stack and stop MiniStack.", flush=True)
        try:
            input()
        except EOFError:
            pass

    def update_changes_the_cooldown():
        ch.cfn.update_stack(StackName=STACK, TemplateBody=json.dumps(ch.deployed), Parameters=ch.parameters(update=True),
                            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        ch.wait_stack("UPDATE_COMPLETE")
        fn = ch.lam.get_function_configuration(FunctionName=ch.function)
        name, (_, new) = ch.update_parameter
        if name == "NearLimitAlarmThreshold":
            alarm = [a for a in ch.cw.describe_alarms()["MetricAlarms"] if "NearLimit" in a["AlarmName"]]
            assert not alarm or alarm[0]["Threshold"] == float(new), alarm
        else:
            env = fn["Environment"]["Variables"]
            assert new in env.values(), (name, new, env)
        assert len(ch.logs.describe_subscription_filters(logGroupName=EXEC_GROUP)["subscriptionFilters"]) == 1
        # Still wired: a batch after the update reaches the updated function.
        ch.put(EXEC_GROUP, docs["clean"])

    def change_events_off_removes_the_rule():
        rule_arn = change_rule()["Arn"]
        ch.cfn.update_stack(StackName=STACK, TemplateBody=json.dumps(ch.deployed),
                            Parameters=ch.parameters(update=True, change_events="off"),
                            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        ch.wait_stack("UPDATE_COMPLETE")
        left = {r["LogicalResourceId"] for r in ch.cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]}
        assert not left & {CHANGE_RULE, "ChangeEventsPermission"}, sorted(left)
        assert rule_arn not in [r["Arn"] for r in ch.events.list_rules()["Rules"]], "the change rule outlived ChangeEvents=off"
        assert statements_for(rule_arn) == [], "the function still lets the removed rule invoke it"
        env = ch.lam.get_function_configuration(FunctionName=ch.function)["Environment"]["Variables"]
        assert env.get("CHANGE_EVENTS") == "off", env
        # The schedule still targets the function.
        assert ch.events.list_rule_names_by_target(TargetArn=function_arn())["RuleNames"], "no rule targets the function"

    def pagers_trigger_then_resolve_on_one_dedup_key_and_alias():
        pd, og = ch.pagers.pagerduty(), ch.pagers.opsgenie()
        assert pd and og, f"no page reached the loopback stand-in ({len(pd)} PagerDuty, {len(og)} Opsgenie)"
        # The keys, read from the SSM SecureString parameters, only on the wire.
        assert all(g["body"]["routing_key"] == PD_KEY for g in pd), [g["body"].get("routing_key") for g in pd][:3]
        assert all(g["headers"].get("authorization") == f"GenieKey {OG_KEY}" for g in og), og[0]["headers"]
        env = ch.lam.get_function_configuration(FunctionName=ch.function)["Environment"]["Variables"]
        assert env["PAGERDUTY_ROUTING_KEY_PARAMETER"] == PD_PARAMETER and env["OPSGENIE_API_KEY_PARAMETER"] == OG_PARAMETER, env
        logged = json.dumps(ch.function_log())
        for key in (PD_KEY, OG_KEY):
            assert key not in json.dumps(env) and key not in logged, "a pager key leaked into the environment or the log"
        triggers = {g["body"]["dedup_key"] for g in pd
                    if g["body"]["event_action"] == "trigger" and g["body"]["payload"].get("class") != "summary"}
        creates = {g["body"]["alias"] for g in og if g["path"] == "/v2/alerts" and "summary" not in g["body"].get("tags", [])}
        assert triggers and triggers == creates, (triggers, creates)
        # IncidentResolveSeconds is 60 since the update: the schedule resolves every quiet incident.
        schedule = json.load(open(os.path.join(ROOT, "events", "schedule.json")))

        def all_resolved():
            r, body = ch.invoke(schedule)
            ch.extra_invocations += 1
            assert not r.get("FunctionError"), body
            resolves = {g["body"]["dedup_key"] for g in ch.pagers.pagerduty() if g["body"]["event_action"] == "resolve"}
            closes = {g["path"] for g in ch.pagers.opsgenie() if "/close" in g["path"]}
            return resolves >= triggers and closes >= {f"/v2/alerts/{k}/close?identifierType=alias" for k in triggers}
        wait_until("a PagerDuty resolve and an Opsgenie close for every trigger, on its dedup key / alias",
                   all_resolved, seconds=150, every=5)
        for k in triggers:
            events = [g["body"]["event_action"] for g in ch.pagers.pagerduty() if g["body"]["dedup_key"] == k]
            assert events[0] == "trigger" and events[-1] == "resolve", (k, events)

    def delete_removes_everything():
        ch.cfn.delete_stack(StackName=STACK)
        ch.wait_stack("DELETE_COMPLETE")
        try:
            ch.lam.get_function(FunctionName=ch.function)
            raise AssertionError("the function outlived its stack")
        except ch.lam.exceptions.ResourceNotFoundException:
            pass
        for g in [EXEC_GROUP, ACCESS_GROUP, BACKEND_GROUP]:
            assert ch.logs.describe_subscription_filters(logGroupName=g)["subscriptionFilters"] == [], g
        topics = [t["TopicArn"] for t in ch.sns.list_topics()["Topics"]]
        assert ch.outputs["AlertTopicArn"] not in topics, topics

    check(f"an update ({ch.update_parameter[0]} {' → '.join(ch.update_parameter[1])}) reaches the function",
          update_changes_the_cooldown)
    check("the pagers get trigger → resolve on one dedup key / alias, keys from SSM SecureString",
          pagers_trigger_then_resolve_on_one_dedup_key_and_alias)
    if has_change_rule:
        check("an update with ChangeEvents=off removes the change rule and its permission", change_events_off_removes_the_rule)
    check("deleting the stack removes it", delete_removes_everything)


def render(x, env: dict):
    """The intrinsics of the central destination's policy resolved with `env` (Ref, plain Fn::Sub, Fn::If with
    AWS::NoValue dropped), so that the destination made by hand carries template.yaml's own policy."""
    if isinstance(x, list):
        return [v for v in (render(i, env) for i in x) if v is not NOVALUE]
    if isinstance(x, dict):
        if len(x) == 1 and next(iter(x)) in ("Ref", "Fn::Sub", "Fn::If"):
            (fn, arg), = x.items()
            if fn == "Ref":
                return NOVALUE if arg == "AWS::NoValue" else env[arg]
            if fn == "Fn::Sub":
                import re
                return re.sub(r"\$\{([^}]+)\}", lambda m: env[m.group(1)], arg)
            cond, yes, no = arg
            return render(yes if env[cond] else no, env)
        return {k: v for k, v in ((k, render(v, env)) for k, v in x.items()) if v is not NOVALUE}
    return x


NOVALUE = object()


def central_copy(template: dict) -> dict:
    t = emulator_copy(template)
    del t["Resources"]["CentralDestination"]
    del t["Outputs"]["CentralDestinationArn"]
    assert '"CentralDestination"' not in json.dumps(t), "CentralDestination is referenced elsewhere: the copy breaks"
    return t


def run_central(ch: Chain):
    """The central account mode on MiniStack: the stack (stream, delivery role, mapping), the destination, the source
    template in another account, then a source account's batch through the stream to an alert."""
    env = client_env(ch.endpoint)
    as_source = lambda s: boto3.client(s, endpoint_url=ch.endpoint, region_name=env["AWS_REGION"],  # noqa: E731
                                       aws_access_key_id=SOURCE_ACCOUNT, aws_secret_access_key="test")
    region = env["AWS_REGION"]
    iam, ddb = ch.c("iam"), ch.c("dynamodb")
    deployed = central_copy(ch.template)
    state: dict = {}

    def wait(cfn, name, want):
        def probe():
            try:
                st = cfn.describe_stacks(StackName=name)["Stacks"][0]
            except cfn.exceptions.ClientError as e:
                if want == "DELETE_COMPLETE" and "does not exist" in str(e):
                    return "DELETE_COMPLETE"
                raise
            if st["StackStatus"] == want:
                return st
            if "FAILED" in st["StackStatus"] or "ROLLBACK" in st["StackStatus"]:
                why = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in
                       cfn.describe_stack_events(StackName=name)["StackEvents"] if "FAILED" in e["ResourceStatus"]]
                raise AssertionError(f"{name} {st['StackStatus']}: {why}")
            return None
        return wait_until(f"{name} {want}", probe, seconds=180, every=1)

    def physical(name):
        return ch.cfn.describe_stack_resource(StackName=CENTRAL_STACK, LogicalResourceId=name)[
            "StackResourceDetail"]["PhysicalResourceId"]

    def the_central_stack_creates_the_stream_the_role_and_the_mapping():
        ch.logs.create_log_group(logGroupName=CENTRAL_OWN_GROUP)
        params = {"ApiLogGroupNames": CENTRAL_OWN_GROUP, "CentralSourceAccounts": SOURCE_ACCOUNT,
                  "ChangeEvents": "off", "MetricsNamespace": NAMESPACE + "Central", "LogLookup": "off",
                  "IncidentUpdateSeconds": "0"}
        ch.cfn.create_stack(StackName=CENTRAL_STACK, TemplateBody=json.dumps(deployed),
                            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
                            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        st = wait(ch.cfn, CENTRAL_STACK, "CREATE_COMPLETE")
        out = {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}
        state["function"], state["topic"] = out["FunctionName"], out["AlertTopicArn"]
        state["failure_url"] = out["FailureQueueUrl"]
        assert out["CentralEventBusArn"] == f"arn:aws:events:{region}:{ch.account}:event-bus/default", out
        stream = ch.kin.describe_stream(StreamName=physical("CentralStream"))["StreamDescription"]
        state["stream"], state["stream_arn"] = stream["StreamName"], stream["StreamARN"]
        assert len(stream["Shards"]) == 1, stream["Shards"]  # CentralStreamShards' default
        (esm,) = ch.lam.list_event_source_mappings(FunctionName=state["function"])["EventSourceMappings"]
        assert esm["EventSourceArn"] == state["stream_arn"], esm
        failure_arn = ch.sqs.get_queue_attributes(QueueUrl=state["failure_url"], AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        want = {"StartingPosition": "TRIM_HORIZON", "BatchSize": 100, "MaximumBatchingWindowInSeconds": 5,
                "BisectBatchOnFunctionError": True, "ParallelizationFactor": 4, "MaximumRetryAttempts": 2,
                "MaximumRecordAgeInSeconds": -1}
        got = {k: esm.get(k) for k in want if k in esm}
        assert got == {k: want[k] for k in got} and {"StartingPosition", "ParallelizationFactor"} <= set(got), (got, esm)
        assert esm["DestinationConfig"]["OnFailure"]["Destination"] == failure_arn, esm
        role = iam.get_role(RoleName=physical("CentralDeliveryRole"))["Role"]
        state["role_arn"] = role["Arn"]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        (st,) = trust["Statement"]  # no organization: one statement
        assert st["Principal"] == {"Service": "logs.amazonaws.com"}, st
        assert st["Condition"]["StringLike"]["aws:SourceArn"] == [
            f"arn:*:logs:*:{SOURCE_ACCOUNT}:*", f"arn:aws:logs:{region}:{ch.account}:*"], st
        names = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
        (doc,) = [iam.get_role_policy(RoleName=role["RoleName"], PolicyName=n)["PolicyDocument"] for n in names]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        assert [(s["Action"], s["Resource"]) for s in doc["Statement"]] == [("kinesis:PutRecord", state["stream_arn"])], doc
        # ChangeEvents=off: no bus policy either (and MiniStack could not create one: see README).
        created = {r["LogicalResourceId"] for r in ch.cfn.list_stack_resources(StackName=CENTRAL_STACK)["StackResourceSummaries"]}
        assert not created & {"CentralChangeEventsFromAccounts", "CentralChangeEventsFromOrganization"}, created

    def the_emulator_still_lacks_destinations_in_cloudformation():
        # Why CentralDestination is made by hand: if MiniStack learns the type, this fails; deploy it as written.
        body = {"Resources": {"D": {"Type": "AWS::Logs::Destination", "Properties": {
            "DestinationName": "probe", "RoleArn": state["role_arn"], "TargetArn": state["stream_arn"]}}}}
        for typ in ["AWS::Logs::Destination", "AWS::Events::EventBusPolicy"]:
            body["Resources"]["D"]["Type"] = typ
            try:
                ch.cfn.create_stack(StackName="destination-probe", TemplateBody=json.dumps(body))
            except ch.cfn.exceptions.ClientError as e:
                assert "Unrecognized resource types" in str(e) and typ in str(e), f"{typ} refused for another reason: {e}"
            else:
                ch.cfn.delete_stack(StackName="destination-probe")
                raise AssertionError(f"MiniStack now creates {typ}: deploy the central mode without the stand-in")

    def the_destination_with_the_templates_policy():
        props = ch.template["Resources"]["CentralDestination"]["Properties"]
        values = {"AWS::Partition": "aws", "AWS::Region": region, "AWS::AccountId": ch.account,
                  "AWS::StackName": CENTRAL_STACK, "CentralSourceAccounts": [SOURCE_ACCOUNT],
                  "HasCentralAccounts": True, "HasCentralOrganization": False}
        name = render(props["DestinationName"], values)
        policy = render(props["DestinationPolicy"]["Fn::ToJsonString"], values)
        d = ch.logs.put_destination(destinationName=name, targetArn=state["stream_arn"], roleArn=state["role_arn"])
        ch.logs.put_destination_policy(destinationName=name, accessPolicy=json.dumps(policy))
        state["destination"] = d["destination"]["arn"]
        # The ARN the template's policy names (and the output CentralDestinationArn would give).
        (st,) = policy["Statement"]
        assert st["Resource"] == state["destination"] == f"arn:aws:logs:{region}:{ch.account}:destination:{CENTRAL_STACK}", st
        assert st["Principal"] == {"AWS": [SOURCE_ACCOUNT]}, st
        (stored,) = [x for x in ch.logs.describe_destinations()["destinations"] if x["destinationName"] == name]
        assert json.loads(stored["accessPolicy"]) == policy and stored["roleArn"] == state["role_arn"], stored

    def the_source_template_subscribes_the_source_accounts_group():
        logs, cfn = as_source("logs"), as_source("cloudformation")
        assert as_source("sts").get_caller_identity()["Account"] == SOURCE_ACCOUNT
        logs.create_log_group(logGroupName=SOURCE_GROUP)
        logs.create_log_stream(logGroupName=SOURCE_GROUP, logStreamName="e2e")
        with open(SOURCE_TEMPLATE) as f:
            body = json.dumps(yaml.safe_load(f))
        cfn.create_stack(StackName=SOURCE_STACK, TemplateBody=body,
                         Parameters=[{"ParameterKey": "DestinationArn", "ParameterValue": state["destination"]},
                                     {"ParameterKey": "LogGroupNames", "ParameterValue": SOURCE_GROUP}],
                         Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        wait(cfn, SOURCE_STACK, "CREATE_COMPLETE")
        (f,) = logs.describe_subscription_filters(logGroupName=SOURCE_GROUP)["subscriptionFilters"]
        assert f["destinationArn"] == state["destination"] and f["distribution"] == "ByLogStream", f
        assert not f.get("roleArn"), f  # a destination that lists the account needs no role
        state["filter"] = f["filterName"]
        # Its Rules: the log-groups scope without groups is refused before anything is created.
        try:
            cfn.create_stack(StackName=SOURCE_STACK + "-empty", TemplateBody=body,
                             Parameters=[{"ParameterKey": "DestinationArn", "ParameterValue": state["destination"]}])
        except cfn.exceptions.ClientError as e:
            assert "LogGroupNames must list" in str(e), e
        else:
            raise AssertionError("the source template took Scope log-groups without LogGroupNames")

    def records():
        shard = ch.kin.list_shards(StreamName=state["stream"])["Shards"][0]["ShardId"]
        it = ch.kin.get_shard_iterator(StreamName=state["stream"], ShardId=shard,
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return ch.kin.get_records(ShardIterator=it)["Records"]

    def the_emulator_still_delivers_nothing_to_a_destination():
        # Why the records are put by hand below: MiniStack delivers subscriptions to Lambda only. If a record
        # arrives here, it has learnt destinations: drop the stand-in and assert the delivered batch instead.
        as_source("logs").put_log_events(logGroupName=SOURCE_GROUP, logStreamName="e2e", logEvents=[
            {"timestamp": int(time.time() * 1000), "message": "(probe-1) Starting execution for request: probe-1"}])
        time.sleep(3)
        assert records() == [], "MiniStack now delivers to a CloudWatch Logs destination: drop the stand-in"

    def central_logs(group) -> list[dict]:
        try:
            evs = ch.logs.filter_log_events(logGroupName=group)["events"]
        except ch.logs.exceptions.ResourceNotFoundException:
            return []
        out = []
        for e in evs:
            for line in e["message"].splitlines():
                if line.strip().startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
        return out

    def a_source_accounts_timeout_reaches_the_function_through_the_stream_and_alerts():
        url = ch.sqs.create_queue(QueueName="central-alerts")["QueueUrl"]
        qarn = ch.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        ch.sns.subscribe(TopicArn=state["topic"], Protocol="sqs", Endpoint=qarn)
        # What CloudWatch Logs puts on the stream: the destination's test message when it is created, then the
        # source account's batches (one gzip document per record, owner = the source account).
        control = {"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "", "logStream": "",
                   "subscriptionFilters": [], "logEvents": [{"id": "", "timestamp": int(time.time() * 1000),
                   "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}
        doc = dict(ch.docs["timeout-info"], owner=SOURCE_ACCOUNT, logGroup=SOURCE_GROUP,
                   subscriptionFilters=[state["filter"]])
        ch.kin.put_record(StreamName=state["stream"], Data=gzip_doc(ch.gen, control), PartitionKey="control")
        ch.kin.put_record(StreamName=state["stream"], Data=gzip_doc(ch.gen, doc), PartitionKey=doc["logStream"])
        group = f"/aws/lambda/{state['function']}"
        done = wait_until("the central function's `invocation done` with the source batch",
                          lambda: [l for l in central_logs(group) if l.get("message") == "invocation done"
                                   and l.get("log_events", 0) > 0], seconds=90, every=2)
        total = sum(l["log_events"] for l in done)
        assert total == len(doc["logEvents"]), (total, len(doc["logEvents"]), done)
        assert sum(l.get("timeouts", 0) for l in done) == 1, done
        sent = sum(l.get("alerts_sent", 0) for l in done)
        msgs = ch.drain(url, wait=4)
        alerts = [m for m in msgs if not is_alarm_notification(m)]
        assert sent >= 1 and len(alerts) == sent, (sent, [m.get("Subject") for m in msgs])
        text = json.dumps(alerts)
        assert API in text and STAGE in text, text[:2000]
        # The alert is about the source account, not the central one (issue 25 part 3): its subject says whose API.
        assert all(f"· {SOURCE_ACCOUNT}:{API}/{STAGE}" in m.get("Subject", "") for m in alerts), \
            [m.get("Subject") for m in alerts]
        # No failure: the control message is skipped, not rejected.
        assert not [l for l in central_logs(group) if l.get("message") == "invocation failed"]
        assert ch.drain(state["failure_url"], wait=1) == []

    def the_central_and_source_stacks_delete():
        as_source("cloudformation").delete_stack(StackName=SOURCE_STACK)
        wait(as_source("cloudformation"), SOURCE_STACK, "DELETE_COMPLETE")
        assert as_source("logs").describe_subscription_filters(logGroupName=SOURCE_GROUP)["subscriptionFilters"] == []
        ch.logs.delete_destination(destinationName=CENTRAL_STACK)
        ch.cfn.delete_stack(StackName=CENTRAL_STACK)
        wait(ch.cfn, CENTRAL_STACK, "DELETE_COMPLETE")
        assert state["stream"] not in ch.kin.list_streams()["StreamNames"], "the central stream outlived its stack"

    print("Central stack copy differs from template.yaml in the places above and:", flush=True)
    for k, why in CENTRAL_DIFFERENCES.items():
        print(f"  - {k}: {why}", flush=True)
    check("central mode: the stack creates the stream, the delivery role and the mapping (TRIM_HORIZON)",
          the_central_stack_creates_the_stream_the_role_and_the_mapping)
    if "stream_arn" not in state:
        return
    check("central mode: MiniStack still refuses AWS::Logs::Destination and AWS::Events::EventBusPolicy "
          "(why the destination is made by hand)", the_emulator_still_lacks_destinations_in_cloudformation)
    check("central mode: the destination, with the template's policy, in front of the stream",
          the_destination_with_the_templates_policy)
    if "destination" in state:
        check("central mode: templates/source-account.yaml subscribes the source account's group to the destination",
              the_source_template_subscribes_the_source_accounts_group)
        check("central mode: MiniStack still sends nothing to a destination (why the records are put by hand)",
              the_emulator_still_delivers_nothing_to_a_destination)
        check("central mode: the source account's timeout reaches the function through the stream and alerts",
              a_source_accounts_timeout_reaches_the_function_through_the_stream_and_alerts)
    check("central mode: the source and central stacks delete", the_central_and_source_stacks_delete)


def integration_latencies(doc: dict, method: str, path: str) -> list[int]:
    """Ground truth from a sample document: the integration latencies its requests on (method, path)
    reported, from execution-log lines or access-log records."""
    reqs: dict[str, dict] = {}
    for e in doc["logEvents"]:
        m = e["message"]
        if m.startswith("("):
            rid, _, text = m[1:].partition(") ")
            r = reqs.setdefault(rid, {})
            if text.startswith("HTTP Method: "):
                verb, _, p = text[len("HTTP Method: "):].partition(", Resource Path: ")
                r["route"] = (verb, p)
            elif "Integration latency: " in text:
                r["latency"] = int(text.split("Integration latency: ")[1].split(" ")[0])
        elif m.startswith("{"):
            j = json.loads(m)
            if j.get("integrationLatency", "-") != "-":
                reqs[j["requestId"]] = {"route": (j["httpMethod"], j["resourcePath"]),
                                        "latency": int(j["integrationLatency"])}
    return [r["latency"] for r in reqs.values() if r.get("route") == (method, path) and "latency" in r]


def gzip_doc(gen, doc) -> bytes:
    return base64.b64decode(gen.encode(doc))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    ap.add_argument("--bootstrap", default=os.path.join(target, "debug", "bootstrap"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--template", default=os.path.join(ROOT, "template.yaml"))
    args = ap.parse_args()
    if not os.path.isfile(args.bootstrap):
        print(f"FAIL setup: no {args.bootstrap}: build it first (`cargo build --bin bootstrap`; `make deploy-local` does)")
        print("deploy-local: 0 passed, 1 failed")
        return 1
    print("Deployed copy differs from template.yaml only in:", flush=True)
    for k, why in DIFFERENCES.items():
        print(f"  - {k}: {why}", flush=True)
    log = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.bootstrap))), "ministack-deploy-local.log")
    started = time.time()
    try:
        with running(log_path=log) as endpoint:
            print(f"MiniStack on {endpoint} (log {log})", flush=True)
            ch = Chain(endpoint, args.bootstrap, args.template)
            try:
                ch.setup()
                results.append(("the stack is created from template.yaml", None))
                print("ok   the stack is created from template.yaml", flush=True)
            except Exception as e:  # noqa: BLE001
                results.append(("the stack is created from template.yaml", e))
                print(f"FAIL the stack is created from template.yaml: {e}", flush=True)
                traceback.print_exc()
            else:
                run_checks(ch, args.keep)
                if "CentralDestination" in ch.template["Resources"]:
                    run_central(ch)
            finally:
                ch.pagers.stop()
    except SystemExit as e:  # the emulator did not start: loud, never a skip
        results.append(("MiniStack starts", e))
        print(f"FAIL MiniStack starts: {e}", flush=True)
    failed = sum(1 for _, e in results if e is not None)
    print(f"({time.time() - started:.0f} s)")
    print(f"deploy-local: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
