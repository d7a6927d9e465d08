#!/usr/bin/env python3
"""`apigw-doctor analyze --api-id … --stage … --since …` against MiniStack's CloudWatch Logs and API Gateway.

    python tests/aws/ministack.py -- .venv/bin/python tests/aws/test_fetch.py CLI

The test writes the incident fixture's execution-log lines (tests/fixtures/cli) into the stage's
execution-log group, its access-log records into the group that the stage's access-log settings
name (found by the CLI through GetStage), shifted to the last half hour, then checks the report's
numbers against the fixture's truth.json. (MiniStack 1.5.33 answers FilterLogEvents in one page, with no
nextToken, so pagination itself is not exercised here.)
"""
import gzip
import json
import os
import subprocess
import sys
import time

import boto3

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures", "cli")


def put(logs, group, stream, events):
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    events = sorted(events, key=lambda e: e["timestamp"])
    for i in range(0, len(events), 1000):
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events[i:i + 1000])


def main():
    cli = os.path.abspath(sys.argv[1])
    truth = json.load(open(os.path.join(FIX, "truth.json")))
    with gzip.open(os.path.join(FIX, "aws-logs.json.gz"), "rt") as f:
        exported = json.load(f)["events"]
    t0 = truth["timeline"][0]["start_ms"]
    # Whole minutes, so that the per-minute truth still holds.
    shift = ((int(time.time() * 1000) - 30 * 60_000) // 60_000) * 60_000 - t0

    apigw = boto3.client("apigateway")
    logs = boto3.client("logs")
    api = apigw.create_rest_api(name="orders")["id"]
    access_group = f"/apigw/{api}/access"
    root = [r for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    dep = apigw.create_deployment(restApiId=api)["id"]
    apigw.create_stage(restApiId=api, stageName="prod", deploymentId=dep)
    arn = f"arn:aws:logs:us-east-1:000000000000:log-group:{access_group}"
    apigw.update_stage(restApiId=api, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
        {"op": "replace", "path": "/accessLogSettings/format", "value": '{"requestId":"$context.requestId"}'}])
    stage = apigw.get_stage(restApiId=api, stageName="prod")
    assert stage.get("accessLogSettings", {}).get("destinationArn") == arn, stage

    exec_group = f"API-Gateway-Execution-Logs_{api}/prod"
    put(logs, exec_group, "6f1c2a3b4d5e6f708192a3b4c5d6e7f8",
        [{"timestamp": e["timestamp"] + shift, "message": e["message"]} for e in exported])
    # The access-log group: only the timed-out requests' records (the same request ids, their times shifted as
    # the execution lines are: the engine takes a request's time from requestTimeEpoch), so the
    # request count stays the execution log's and the fetch of both groups shows in `log_events`.
    with gzip.open(os.path.join(FIX, "access-pretty.json.gz"), "rt") as f:
        dec, text, records, at = json.JSONDecoder(), f.read(), [], 0
        while at < len(text.strip()):
            rec, end = dec.raw_decode(text, at)
            records.append(rec)
            at = end + 1
    timed_out = [r for r in records if r["status"] == "504"]
    put(logs, access_group, "access", [
        {"timestamp": r["requestTimeEpoch"] + shift, "message": json.dumps({**r, "apiId": api, "requestTimeEpoch": r["requestTimeEpoch"] + shift})} for r in timed_out])

    env = dict(os.environ)
    run = subprocess.run([cli, "analyze", "--api-id", api, "--stage", "prod", "--since", "2h", "--format", "json"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, (run.returncode, run.stderr)
    assert run.stderr == "", f"progress or warnings on a non-terminal: {run.stderr!r}"
    v = json.loads(run.stdout)
    s = v["summary"]
    for k in ("requests", "timeouts", "errors", "near_limit"):
        assert s[k] == truth["summary"][k], (k, s[k], truth["summary"][k])
    assert s["log_events"] == len(exported) + len(timed_out), (s["log_events"], len(exported), len(timed_out))
    assert s["unrecognised_lines"] == 0, s
    got = [(b["start_ms"] - shift, b["requests"], b["timeouts"], b["p95_ms"]) for b in v["timeline"]["buckets"]]
    want = [(m["start_ms"], m["requests"], m["timeouts"], m["p95_ms"]) for m in truth["timeline"]]
    assert got == want, (got, want)
    assert all(f["api_id"] == api for f in v["findings"]), "findings name the fetched API"

    # --log-group alone (no GetStage), and a window that holds minutes 8 and 9 only.
    since = t0 + shift + 8 * 60_000
    run = subprocess.run([cli, "analyze", "--log-group", exec_group, "--since", str(since),
                          "--until", str(since + 2 * 60_000), "--format", "json"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    s = json.loads(run.stdout)["summary"]
    assert (s["requests"], s["timeouts"]) == (12, 4), s

    # A group that does not exist: a warning, exit 3 (nothing could be read).
    run = subprocess.run([cli, "analyze", "--log-group", "API-Gateway-Execution-Logs_nope/prod", "--since", "1h"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert "does not exist" in run.stderr, run.stderr
    print("test_fetch: ok")


if __name__ == "__main__":
    main()
