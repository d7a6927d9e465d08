#!/usr/bin/env python3
"""Fetch mode reads each integration's limit from API Gateway (issue 22), against MiniStack.

    python tests/aws/ministack.py -- .venv/bin/python tests/aws/test_fetch_limits.py CLI

1. A Regional REST API whose `GET /slow` integration has timeoutInMillis 60000 (PutIntegration;
   read back by the CLI through GetRestApi and GetResources with embed=methods): a request whose
   integration answered after 45 s is fine (no finding: under the 60 s limit and under its 48 s
   near-limit line), and one that timed out after 60 s is a timeout held against 60 s, not 29 s.
   `--timeout-overrides` for the API still wins over what the API says.
2. The same integration on an edge-optimized REST API: held at 29 s, with a warning.
3. An HTTP API made through apigatewayv2, access logging to a group of its own: the CLI finds that
   group through apigatewayv2 GetStage (REST's GetStage answers NotFound), reads no execution-log
   group (HTTP APIs have none), and takes the route's 10 s TimeoutInMillis from GetRoutes and
   GetIntegrations: a 503 after 10 s is a timeout at 10 s.

(MiniStack's GetResources returns the API's current methods, as AWS does: not the deployed
snapshot. Its GetResources always embeds the methods; `embed=methods` is what AWS needs.)
The log lines are the shapes of tests/fixtures/backend/execution.json and issue12's HTTP API records.
"""
import json
import os
import subprocess
import sys
import time

import boto3

STREAM = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
FUNCTION = "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:slow/invocations"
LAMBDA = f"https://lambda.us-east-1.amazonaws.com{FUNCTION}"
URI = f"arn:aws:apigateway:us-east-1:lambda:path{FUNCTION}"


def put(logs, group, stream, events):
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    events = sorted(events, key=lambda e: e["timestamp"])
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def rest_api(apigw, name, endpoint, timeout_ms):
    """A REST API with GET /slow (a Lambda proxy integration of `timeout_ms`) and GET / (MOCK, default)."""
    api = apigw.create_rest_api(name=name, endpointConfiguration={"types": [endpoint]})["id"]
    root = [r for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/"][0]["id"]
    slow = apigw.create_resource(restApiId=api, parentId=root, pathPart="slow")["id"]
    for res, kind in ((root, "MOCK"), (slow, "AWS_PROXY")):
        apigw.put_method(restApiId=api, resourceId=res, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.put_integration(restApiId=api, resourceId=slow, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=URI,
                          timeoutInMillis=timeout_ms)
    got = apigw.get_integration(restApiId=api, resourceId=slow, httpMethod="GET")
    assert got["timeoutInMillis"] == timeout_ms, got
    dep = apigw.create_deployment(restApiId=api)["id"]
    apigw.create_stage(restApiId=api, stageName="prod", deploymentId=dep)
    return api


def request(api, n, t0, answered_ms=None, timed_out_ms=None):
    """One REST request's execution-log lines: answered after `answered_ms`, or timed out after `timed_out_ms`."""
    rid = f"00016bac-0000-4000-8000-{n:012d}"
    lines = [
        (0, f"Extended Request Id: 00016bacAbCd{n}="),
        (0, f"Verifying Usage Plan for request: {rid}. API Key:  API Stage: {api}/prod"),
        (0, f"Starting execution for request: {rid}"),
        (0, "HTTP Method: GET, Resource Path: /slow"),
        (0, "Method request path: {}"),
        (1, f"Endpoint request URI: {LAMBDA}"),
        (2, f"Sending request to {LAMBDA}"),
    ]
    if answered_ms is not None:
        lines += [(2 + answered_ms, f"Received response. Status: 200, Integration latency: {answered_ms} ms"),
                  (2 + answered_ms, "Method completed with status: 200")]
    else:
        lines += [(2 + timed_out_ms + 4, "Execution failed due to a timeout error"),
                  (2 + timed_out_ms + 4, "Method completed with status: 504")]
    return rid, [{"timestamp": t0 + dt, "message": f"({rid}) {text}"} for dt, text in lines]


def analyze(cli, api, *extra):
    run = subprocess.run([cli, "analyze", "--api-id", api, "--stage", "prod", "--since", "2h", *extra],
                         capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert run.returncode == 0, (run.returncode, run.stderr)
    return run


def rest_case(cli, apigw, logs, t0):
    api = rest_api(apigw, "slow-regional", "REGIONAL", 60_000)
    fine, e1 = request(api, 1, t0, answered_ms=45_000)
    late, e2 = request(api, 2, t0 + 60_000, timed_out_ms=60_000)
    put(logs, f"API-Gateway-Execution-Logs_{api}/prod", STREAM, e1 + e2)

    run = analyze(cli, api, "--format", "json")
    assert run.stderr == "", f"a clean fetch warns of nothing: {run.stderr!r}"
    v = json.loads(run.stdout)
    assert (v["summary"]["requests"], v["summary"]["timeouts"]) == (2, 1), v["summary"]
    assert [f["request_id"] for f in v["findings"]] == [late], "the 45 s answer is fine: no finding"
    f = v["findings"][0]
    assert (f["kind"], f["status"], f["limit_ms"]) == ("timeout", 504, 60_000), f
    assert "60,000 ms" in f["headline"] and "29,000" not in f["diagnosis"], f["headline"]
    limits = {(x["route"], x["limit_ms"], x["source"]) for x in v["limits"]}
    assert limits == {("GET /slow", 60_000, "api")}, v["limits"]
    text = analyze(cli, api).stdout
    assert "60,000 ms" in text and "29,000 ms" not in text, text

    # An explicit override outranks the integration's own value.
    v = json.loads(analyze(cli, api, "--format", "json", "--timeout-overrides", f"{api}=50000").stdout)
    assert [(x["limit_ms"], x["source"]) for x in v["limits"]] == [(50_000, "setting")], v["limits"]
    got = {(f["request_id"], f["kind"], f["limit_ms"]) for f in v["findings"]}
    assert got == {(fine, "near_limit", 50_000), (late, "timeout", 50_000)}, got  # 45 s is past 80% of 50 s


def edge_case(cli, apigw, logs, t0):
    api = rest_api(apigw, "slow-edge", "EDGE", 60_000)
    _, e1 = request(api, 3, t0, answered_ms=45_000)
    put(logs, f"API-Gateway-Execution-Logs_{api}/prod", STREAM, e1)
    run = analyze(cli, api, "--format", "json")
    assert "edge-optimized REST API waits 29 s at most" in run.stderr, run.stderr
    v = json.loads(run.stdout)
    assert [(x["limit_ms"], x["source"]) for x in v["limits"]] == [(29_000, "api")], v["limits"]
    assert any("edge-optimized" in w for w in v["warnings"]), v["warnings"]


def http_case(cli, logs, t0):
    v2 = boto3.client("apigatewayv2")
    api = v2.create_api(Name="search", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                                        IntegrationUri="https://backend.example.com/search",
                                        PayloadFormatVersion="1.0", TimeoutInMillis=10_000)["IntegrationId"]
    v2.create_route(ApiId=api, RouteKey="GET /search", Target=f"integrations/{integration}")
    group = f"/aws/http-api/{api}/access"
    fmt = ('{"requestId":"$context.requestId","apiId":"$context.apiId","stage":"$context.stage",'
           '"routeKey":"$context.routeKey","status":"$context.status","integrationLatency":"$context.integrationLatency",'
           '"responseLatency":"$context.responseLatency","requestTimeEpoch":"$context.requestTimeEpoch"}')
    v2.create_stage(ApiId=api, StageName="prod", AccessLogSettings={
        "DestinationArn": f"arn:aws:logs:us-east-1:000000000000:log-group:{group}", "Format": fmt})
    records = []
    for i in range(6):
        records.append((t0 + i * 1000, {"requestId": f"KyDfdgZ9oAMEYp{i}=", "status": "200",
                                        "integrationLatency": str(90 + i), "responseLatency": str(95 + i)}))
    records.append((t0 + 20_000, {"requestId": "KyDfdgZ9oAMEYpZ=", "status": "503",
                                  "integrationLatency": "10001", "responseLatency": "10012"}))
    put(logs, group, "access", [{"timestamp": t + 10_012, "message": json.dumps(
        {**r, "apiId": api, "stage": "prod", "routeKey": "GET /search", "requestTimeEpoch": str(t // 1000)},
        separators=(",", ":"))} for t, r in records])

    run = analyze(cli, api, "--format", "json")
    assert run.stderr == "", f"no execution-log group is looked for, nothing fails: {run.stderr!r}"
    v = json.loads(run.stdout)
    s = v["summary"]
    assert (s["requests"], s["timeouts"], s["log_events"]) == (7, 1, 7), s
    f = v["findings"][0]
    assert (f["kind"], f["status"], f["limit_ms"], f["log_group"]) == ("timeout", 503, 10_000, group), f
    assert [(x["route"], x["limit_ms"], x["source"]) for x in v["limits"]] == [("GET /search", 10_000, "api")]


def main():
    cli = os.path.abspath(sys.argv[1])
    apigw = boto3.client("apigateway")
    logs = boto3.client("logs")
    t0 = ((int(time.time() * 1000) - 30 * 60_000) // 60_000) * 60_000
    rest_case(cli, apigw, logs, t0)
    edge_case(cli, apigw, logs, t0)
    http_case(cli, logs, t0)
    print("test_fetch_limits: ok")


if __name__ == "__main__":
    main()
