#!/usr/bin/env python3
"""Fetch mode reads what changed from CloudTrail LookupEvents (issue 23), against MiniStack.

    python tests/aws/ministack.py -- .venv/bin/python tests/aws/test_fetch_changes.py CLI

A REST API with POST /orders (a Lambda proxy integration, timeoutInMillis 29000) is made, then
the integration's timeout is lowered to 5 s (UpdateIntegration, patchOperations
`replace /timeoutInMillis 5000`), then requests time out 5 s after "Sending request to". The CLI
(`analyze --api-id … --stage prod --since 2h --format json`) reads CloudTrail (one LookupEvents
lookup per event source, apigateway and lambda) besides the logs, and the report names the change:
top-level `change_source` and `changes`, and the incident's `changes`, the UpdateIntegration ranked
first, before the onset, with its timeout going from 29000 (the PutIntegration before it) to 5000.

What MiniStack (1.5.33) does and lacks here:
- CloudTrail records API calls only when recording is on: off by default, switched on at run time
  with POST /_ministack/config {"cloudtrail._recording_enabled": "true"} (or CLOUDTRAIL_RECORDING=1
  in its environment at start), which this test does before it makes anything.
- It names a REST API Gateway call by its HTTP method (`PATCH.apigateway`) and keeps only the body
  as requestParameters (`patchOperations`, no `restApiId`, `resourceId` or `httpMethod`: they are in
  the URL), so the change could not be read at all, let alone related. tests/aws/ministack_serve.py
  fixes the record for the REST changes (AWS's name, the path's ids), as it fixes FilterLogEvents.
  Lambda records stay MiniStack's (the body's PascalCase keys, no `functionName`): no Lambda change
  is made here.
- Its LookupEvents never pages (no NextToken: the newest MaxResults events, here fewer than 50),
  and records failed calls without `errorCode`. Paging, the page bound and the pacing are tested in
  src/aws/fetch/changes.rs instead.
- Its eventTime is the real time of the call, to the second: the requests are put a few seconds
  after the change (not minutes: that would mean waiting), and the CLI runs once they are over.
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

import boto3

STREAM = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
FUNCTION = "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:orders/invocations"
LAMBDA = f"https://lambda.us-east-1.amazonaws.com{FUNCTION}"
URI = f"arn:aws:apigateway:us-east-1:lambda:path{FUNCTION}"


def record_cloudtrail(endpoint):
    req = urllib.request.Request(endpoint + "/_ministack/config", method="POST",
                                 data=json.dumps({"cloudtrail._recording_enabled": "true"}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        applied = json.load(r)["applied"]
    assert applied == {"cloudtrail._recording_enabled": True}, applied


def timed_out(api, n, t0, limit_ms):
    """One REST request's execution-log lines: sent at t0 + 2 ms, given up `limit_ms` later."""
    rid = f"00016bac-0000-4000-8000-{n:012d}"
    lines = [
        (0, f"Extended Request Id: 00016bacAbCd{n}="),
        (0, f"Verifying Usage Plan for request: {rid}. API Key:  API Stage: {api}/prod"),
        (0, f"Starting execution for request: {rid}"),
        (0, "HTTP Method: POST, Resource Path: /orders"),
        (0, "Method request path: {}"),
        (1, f"Endpoint request URI: {LAMBDA}"),
        (2, f"Sending request to {LAMBDA}"),
        (2 + limit_ms + 4, "Execution failed due to a timeout error"),
        (2 + limit_ms + 4, "Method completed with status: 504"),
    ]
    return [{"timestamp": t0 + dt, "message": f"({rid}) {text}"} for dt, text in lines]


def main():
    cli = os.path.abspath(sys.argv[1])
    record_cloudtrail(os.environ["AWS_ENDPOINT_URL"])
    apigw = boto3.client("apigateway")
    logs = boto3.client("logs")

    api = apigw.create_rest_api(name="orders", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = [r for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/"][0]["id"]
    orders = apigw.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    apigw.put_method(restApiId=api, resourceId=orders, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=orders, httpMethod="POST", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=URI, timeoutInMillis=29_000)
    apigw.create_stage(restApiId=api, stageName="prod", deploymentId=apigw.create_deployment(restApiId=api)["id"])
    # eventTime is to the second: the change lands in a later second than the PutIntegration, so
    # its `before` (29000) is the PutIntegration's, whatever order the two event ids sort in.
    time.sleep(1.1)
    changed_ms = int(time.time() * 1000)
    apigw.update_integration(restApiId=api, resourceId=orders, httpMethod="POST", patchOperations=[
        {"op": "replace", "path": "/timeoutInMillis", "value": "5000"}])
    assert apigw.get_integration(restApiId=api, resourceId=orders, httpMethod="POST")["timeoutInMillis"] == 5000

    # Three requests from 2 s after the change, each given up after the new 5 s; the CLI's window
    # ends when it starts, so it starts once the last one is over.
    events = []
    for n in range(3):
        events += timed_out(api, n + 1, changed_ms + 2_000 + n * 500, 5_000)
    last = max(e["timestamp"] for e in events)
    time.sleep(max(0.0, (last + 1_500) / 1000 - time.time()))
    group = f"API-Gateway-Execution-Logs_{api}/prod"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=STREAM)
    logs.put_log_events(logGroupName=group, logStreamName=STREAM,
                        logEvents=sorted(events, key=lambda e: e["timestamp"]))

    run = subprocess.run([cli, "analyze", "--api-id", api, "--stage", "prod", "--since", "2h", "--format", "json"],
                         capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert run.returncode == 0, (run.returncode, run.stderr)
    assert run.stderr == "", f"a clean fetch warns of nothing, and shows no progress off a terminal: {run.stderr!r}"
    v = json.loads(run.stdout)
    assert (v["summary"]["requests"], v["summary"]["timeouts"]) == (3, 3), v["summary"]
    assert [(x["route"], x["limit_ms"]) for x in v["limits"]] == [("POST /orders", 5_000)], v["limits"]

    source = v["change_source"]
    assert source["source"] == "cloudtrail_lookup", source
    updates = [c for c in v["changes"] if c["event_name"] == "UpdateIntegration"]
    assert len(updates) == 1, [c["event_name"] for c in v["changes"]]
    c = updates[0]
    assert c["event_source"] == "apigateway.amazonaws.com", c
    assert c["event_time"] and c["resource"] and c["actor"], c
    assert api in json.dumps(c["resource"]), c["resource"]
    detail = {d["field"]: d for d in c["detail"]}
    assert detail["timeoutInMillis"]["after"] == "5000", c["detail"]
    assert detail["timeoutInMillis"].get("before") == "29000", c["detail"]
    # The setup's own changes were read too (PutIntegration, CreateDeployment…): the lookup is
    # the window's, not one event's.
    assert {"PutIntegration", "CreateDeployment"} <= {x["event_name"] for x in v["changes"]}, v["changes"]

    incident = v["incidents"][0]
    first = incident["changes"][0]
    assert (first["event_name"], first["rank"]) == ("UpdateIntegration", 1), incident["changes"]
    assert first["before_onset_s"] > 0, first
    print("test_fetch_changes: ok")


if __name__ == "__main__":
    main()
