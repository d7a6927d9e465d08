#!/usr/bin/env python3
"""End-to-end: the real bootstrap binary, through the real Lambda runtime API
(`cargo lambda watch`), publishing to CloudWatch and SNS on LocalStack (loopback only).

Run by `make e2e` (part of `make test`) with the project's .venv on PATH. Nothing is
skipped: if LocalStack or the runtime emulator cannot start, the run fails and says why.
Prints `N passed, N failed` last.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LS_PORT = int(os.environ.get("E2E_LOCALSTACK_PORT", "4599"))
INVOKE_PORT = int(os.environ.get("E2E_INVOKE_PORT", "9599"))
ENDPOINT = f"http://127.0.0.1:{LS_PORT}"
REGION = "us-east-1"
NAMESPACE = "ApigwDoctorE2E"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": REGION,
           "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": ENDPOINT}

results = []
procs = []


def check(name, fn):
    try:
        fn()
        results.append((name, None))
        print(f"ok   {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
        results.append((name, e))
        print(f"FAIL {name}: {e}", flush=True)
        traceback.print_exc()


def wait_for(what, probe, seconds, log=None):
    end = time.time() + seconds
    while time.time() < end:
        try:
            if probe():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    tail = ""
    if log and os.path.exists(log):
        with open(log, errors="replace") as f:
            tail = "".join(f.readlines()[-40:])
    raise SystemExit(f"{what} did not start within {seconds} s\n{tail}")


def start(cmd, log, env):
    out = open(log, "w")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
    procs.append(p)
    return p


def stop_all():
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def client(service):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def invoke(name, events_dir, timeout=120):
    """Returns (ok, output) of one invocation through the runtime API."""
    try:
        r = subprocess.run(["cargo", "lambda", "invoke", "bootstrap", "--invoke-port", str(INVOKE_PORT),
                            "--data-file", os.path.join(events_dir, f"{name}.json")],
                           cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout} s"
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def drain(queue_url, sqs, wait=3):
    msgs = []
    end = time.time() + wait
    while time.time() < end:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for m in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            msgs.append(json.loads(m["Body"]))
        if got:
            end = max(end, time.time() + 1)
    return msgs


def main():
    tmp = tempfile.mkdtemp(prefix="apigw-doctor-e2e-")
    # Events stamped "now": CloudWatch (and apigw-doctor) refuse data older than two weeks.
    t0 = int(time.time() * 1000) - 5 * 60 * 1000
    events = os.path.join(tmp, "events")
    os.makedirs(events)
    subprocess.run([sys.executable, os.path.join(ROOT, "events", "generate.py"), "--out", events, "--t0", str(t0)],
                   check=True, stdout=subprocess.DEVNULL)

    ls_log = os.path.join(tmp, "localstack.log")
    env = dict(os.environ, GATEWAY_LISTEN=f"127.0.0.1:{LS_PORT}", SERVICES="cloudwatch,sns,sqs,logs",
               LOCALSTACK_VOLUME_DIR=os.path.join(tmp, "vol"), FILESYSTEM_ROOT=os.path.join(tmp, "fs"),
               SKIP_SSL_CERT_DOWNLOAD="1", DISABLE_EVENTS="1", LOCALSTACK_TELEMETRY_DISABLED="1")
    start([sys.executable, "-m", "localstack.runtime.main"], ls_log, env)
    wait_for("LocalStack", lambda: urllib.request.urlopen(f"{ENDPOINT}/_localstack/health", timeout=2).status == 200,
             120, ls_log)

    sns, sqs, cw = client("sns"), client("sqs"), client("cloudwatch")
    topic = sns.create_topic(Name="apigw-doctor-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    fn_log = os.path.join(tmp, "function.log")
    fn_env = dict(os.environ, **AWS_ENV)
    watch_env = {
        "ALERT_TOPIC_ARN": topic, "METRICS_NAMESPACE": NAMESPACE, "NEAR_LIMIT_ALERT_MIN": "2",
        # Updates without waiting, so that the split request's timeout (same incident as
        # timeout-info's: same API, stage and function) is notified as an update.
        "INCIDENT_UPDATE_SECONDS": "0", **AWS_ENV,
    }
    cmd = ["cargo", "lambda", "watch", "--bin", "bootstrap", "--ignore-changes", "--invoke-port", str(INVOKE_PORT)]
    for k, v in watch_env.items():
        cmd += ["--env-var", f"{k}={v}"]
    start(cmd, fn_log, fn_env)
    # Until the emulator listens, invoke fails at once; the first invoke that connects waits
    # for the function's build (cargo-lambda builds with its own flags: on a clean clone that
    # is a full dev build of the dependencies), so allow the time a cold build needs.
    deadline = time.time() + 1800
    while True:
        ok, out = invoke("clean", events, timeout=1500)
        if ok or time.time() > deadline:
            break
        time.sleep(2)
    if not ok:
        raise SystemExit(f"the function never answered: {out}\n" + open(fn_log, errors="replace").read()[-4000:])

    def clean_batch_sends_no_alert():
        assert drain(queue_url, sqs) == [], "an alert for clean traffic"

    def timeout_batch_alerts():
        ok, out = invoke("timeout-info", events)
        assert ok, out
        summary = json.loads(out)
        assert summary["timeouts"] == 1 and summary["alerts_sent"] == 1 and summary["metric_calls"] == 1, summary
        msgs = drain(queue_url, sqs)
        assert len(msgs) == 1, msgs
        env = msgs[0]
        assert env["Type"] == "Notification"
        subject = "504 timeouts 1/7 (14%) POST /orders/{orderId}/pay · a1b2c3d4e5/prod"
        assert env["Subject"] == "[FIRING] " + subject, env["Subject"]
        body = json.loads(env["Message"])
        assert body["schema"] == "apigw-doctor/incident/1" and body["status"] == "firing", body
        assert body["kind"] == "timeout" and body["affected"] == 1 and body["requests"] == 7
        f = body["examples"][0]
        assert f["invoked"] is True and f["elapsed_ms"] == 29003 and f["route"] == "POST /orders/{orderId}/pay"
        email = body["notification"]["email"]
        assert "AFTERWARDS" in email and "idempotency key" in email, email
        chatbot = body["notification"]["chatbot"]
        assert chatbot["version"] == "1.0" and chatbot["source"] == "custom", chatbot
        assert chatbot["content"]["textType"] == "client-markdown"
        assert chatbot["content"]["title"].endswith(subject), chatbot["content"]["title"]
        assert chatbot["metadata"]["threadId"] == body["incident_id"]
        for secret in ["eyJhbGciOiJIUzI1NiJ9", "abc123secret", "AKIAFAKEKEY", "IQoJb3JpZ2lu"]:
            assert secret not in env["Message"], secret

    def redelivered_batch_alerts_once():
        ok, out = invoke("timeout-info", events)
        assert ok, out
        assert json.loads(out)["duplicate_events"] == 412
        assert drain(queue_url, sqs) == []

    def near_limit_batch_alerts_per_route():
        # Three routes behind one function: one incident, one alert.
        ok, out = invoke("near-limit", events)
        assert ok, out
        msgs = drain(queue_url, sqs)
        subjects = sorted(m["Subject"] for m in msgs)
        assert subjects == ["[FIRING] near-limit latency 6/30 (20%) GET /orders +2 routes · a1b2c3d4e5/prod"], subjects

    def kinesis_batch():
        ok, out = invoke("kinesis", events)
        assert ok, out
        # Same documents as timeout-info and near-limit: already handled, nothing new to say.
        s = json.loads(out)
        assert s["duplicate_events"] == 1072 and s["alerts_sent"] == 0, s

    def split_request_is_joined_across_invocations():
        ok, out = invoke("split-part1", events)
        assert ok and json.loads(out)["pending_requests"] == 1, out
        ok, out = invoke("split-part2", events)
        assert ok, out
        msgs = drain(queue_url, sqs)
        assert len(msgs) == 1, msgs
        body = json.loads(msgs[0]["Message"])
        assert body["status"] == "update" and body["affected"] == 2, body
        f = body["examples"][0]
        assert f["route"] == "PUT /orders/{orderId}" and f["invoked"] is True and f["elapsed_ms"] == 29003, f

    def malformed_batch_fails_clearly():
        ok, out = invoke("malformed", events)
        assert not ok, out
        assert "batch rejected" in out and "not gzip" in out, out

    def metrics_are_listed_and_right():
        names = {}
        for page in cw.get_paginator("list_metrics").paginate(Namespace=NAMESPACE):
            for m in page["Metrics"]:
                names.setdefault(m["MetricName"], set()).add(tuple(sorted(d["Name"] for d in m.get("Dimensions", []))))
        for n in ["IntegrationTimeouts", "NearLimitRequests", "IntegrationLatency"]:
            assert ("ApiId", "Stage") in names.get(n, set()), (n, names)
            assert ("ApiId", "Route", "Stage") in names.get(n, set()), (n, names)
        assert "LogEventsProcessed" in names and "BatchesRejected" in names, names
        start_t = (t0 - 120_000) / 1000
        end_t = (t0 + 600_000) / 1000

        def stat(name, dims, s):
            r = cw.get_metric_statistics(Namespace=NAMESPACE, MetricName=name, StartTime=start_t, EndTime=end_t,
                                         Period=3600, Statistics=[s],
                                         Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()])
            return sum(p[s] for p in r["Datapoints"])

        # Route-level series: LocalStack also matches {ApiId, Stage} queries against the
        # route series (a superset of dimensions), which CloudWatch does not.
        api = {"ApiId": "a1b2c3d4e5", "Stage": "prod"}
        route = dict(api, Route="POST /orders/{orderId}/pay")
        # One timeout each; the redelivery and the Kinesis copy were not counted again.
        assert stat("IntegrationTimeouts", route, "Sum") == 1, stat("IntegrationTimeouts", route, "Sum")
        assert stat("IntegrationTimeouts", dict(api, Route="PUT /orders/{orderId}"), "Sum") == 1
        # (LocalStack 4.9.2 reports some Sum/SampleCount aggregates twice; Maximum and
        # Minimum are exact, and the per-invocation data are pinned by the snapshot tests.)
        near = stat("NearLimitRequests", dict(api, Route="GET /orders"), "Maximum")
        assert near == 2, near
        assert stat("IntegrationLatency", route, "Maximum") == 575
        assert stat("IntegrationLatency", route, "Minimum") == 300

    check("a clean batch sends no alert", clean_batch_sends_no_alert)
    check("a timeout batch alerts with subject, email text and Chatbot JSON", timeout_batch_alerts)
    check("the same batch delivered again sends no second alert", redelivered_batch_alerts_once)
    check("a near-limit batch on three routes of one function is one incident", near_limit_batch_alerts_per_route)
    check("a Kinesis batch is decoded (and deduplicated)", kinesis_batch)
    check("a request split over two invocations is joined", split_request_is_joined_across_invocations)
    check("a malformed batch fails the invocation with a clear message", malformed_batch_fails_clearly)
    check("ListMetrics shows the metrics and the values read back are right", metrics_are_listed_and_right)


if __name__ == "__main__":
    try:
        main()
    except SystemExit as e:
        results.append(("setup", e))
        print(f"FAIL setup: {e}", flush=True)
    finally:
        stop_all()
    failed = sum(1 for _, e in results if e is not None)
    print(f"e2e: {len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
