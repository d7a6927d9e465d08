#!/usr/bin/env python3
"""Writes the sample events in events/: one per scenario, deterministic (run it again, get the same bytes).

    python3 events/generate.py [--out events]

Each scenario is a CloudWatch Logs subscription document, written as the Lambda receives it
({"awslogs":{"data":"<base64 of gzip>"}}), except kinesis.json (a Kinesis event carrying two
documents) and malformed.json (data that is not gzip). The lines follow the real API Gateway
formats in shared/reference/aws-logs.md; ids, accounts and addresses are made up.
Stdlib only.
"""
import argparse
import base64
import gzip
import json
import os
import uuid

ACCOUNT = "123456789012"
REGION = "us-east-1"
API = "a1b2c3d4e5"
STAGE = "prod"
EXEC_GROUP = f"API-Gateway-Execution-Logs_{API}/{STAGE}"
T0 = 1795600800000  # 2026-11-25T10:00:00Z
FN_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-api"
URI = f"https://lambda.{REGION}.amazonaws.com/2015-03-31/functions/{FN_ARN}/invocations"


def rid(n):
    return str(uuid.UUID(int=(0x5EED << 96) + n, version=4))


class Batch:
    made = 0

    def __init__(self, group=EXEC_GROUP, stream="6f1c2a3b4d5e6f708192a3b4c5d6e7f8"):
        self.group, self.stream, self.events = group, stream, []
        Batch.made += 1
        self.serial = Batch.made

    def add(self, ts, message):
        # CloudWatch Logs event ids: 56 decimal digits, unique across batches.
        n = len(self.events)
        self.events.append({"id": f"3{self.serial:05d}{ts:020d}{n:030d}",
                            "timestamp": ts, "message": message})

    def doc(self):
        return {"messageType": "DATA_MESSAGE", "owner": ACCOUNT, "logGroup": self.group, "logStream": self.stream,
                "subscriptionFilters": ["apigw-doctor"], "logEvents": self.events}


def request(b, n, t, method, template, path, params, outcome, latency=120, status=200, info=True):
    """One REST request's execution-log lines. outcome: ok | timeout | not_invoked | fn_timeout."""
    r = rid(n)
    L = lambda dt, text: b.add(t + dt, f"({r}) {text}")
    if info:
        L(0, f"Extended Request Id: {base64.b64encode(r[:11].encode()).decode()[:15]}=")
        L(0, f"Verifying Usage Plan for request: {r}. API Key:  API Stage: {API}/{STAGE}")
        L(0, f"API Key authorized because method '{method} {template}' does not require API Key. "
             "Request will not contribute to throttle or quota limits")
        L(0, f"Usage Plan check succeeded for API Key  and API Stage {API}/{STAGE}")
        L(0, f"Starting execution for request: {r}")
        L(0, f"HTTP Method: {method}, Resource Path: {path}")
        L(0, "Method request path: {" + ", ".join(f"{k}={v}" for k, v in params.items()) + "}")
        L(0, "Method request query string: {}")
        # Secrets as API Gateway logs them with data trace on: they must never reach an alert.
        L(0, "Method request headers: {Accept=application/json, Authorization=Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig, "
             "Cookie=session=abc123secret, x-api-key=AKIAFAKEKEY1234567890}")
        L(0, 'Method request body before transformations: {"note":"Execution failed due to a timeout error"}')
    if outcome == "not_invoked":
        L(29001, "Execution failed due to a timeout error")
        L(29001, "Method completed with status: 504")
        return r
    if info:
        L(1, f"Endpoint request URI: {URI}")
        L(1, "Endpoint request headers: {x-amzn-lambda-integration-tag=" + r + ", Authorization=****************abcd12, "
             "X-Amz-Security-Token=IQoJb3JpZ2luX2VjEFAKEFAKEFAKE, User-Agent=AmazonAPIGateway_" + API + "}")
        L(1, '''Endpoint request body after transformations: {"resource":"''' + template + '''","path":"''' + path + '''"}''')
        L(1, f"Sending request to {URI}")
    if outcome == "timeout":
        L(29004, "Execution failed due to a timeout error")
        L(29004, "Method completed with status: 504")
        return r
    if outcome == "fn_timeout":
        L(1 + latency, f"Received response. Status: 200, Integration latency: {latency} ms")
        L(1 + latency, "Endpoint response headers: {Content-Type=application/json, X-Amz-Function-Error=Unhandled, "
                       "x-amzn-RequestId=" + rid(n + 9000) + "}")
        L(1 + latency, "Lambda execution failed with status 200 due to customer function error: "
                       f"2026-11-25T10:00:{latency // 1000:02d}.000Z {rid(n + 9000)} Task timed out after "
                       f"{latency / 1000:.2f} seconds. Lambda request id: {rid(n + 9000)}")
        L(1 + latency, "Method completed with status: 502")
        return r
    L(1 + latency, f"Received response. Status: 200, Integration latency: {latency} ms")
    L(1 + latency, "Endpoint response headers: {Content-Type=application/json, x-amzn-RequestId=" + rid(n + 9000) + "}")
    L(1 + latency, 'Endpoint response body before transformations: {"statusCode":' + str(status) + ',"body":"{}"}')
    L(1 + latency, "Method response body after transformations: {}")
    L(1 + latency, "Method response headers: {Content-Type=application/json}")
    L(1 + latency, "Successfully completed execution")
    L(1 + latency, f"Method completed with status: {status}")
    L(1 + latency, f"AWS Integration Endpoint RequestId : {rid(n + 9000)}")
    return r


def traffic(b, start_n, t, count, slow_every=0, slow_ms=26000):
    routes = [("GET", "/orders/{orderId}", "/orders/ord-{}", {"orderId": "ord-{}"}),
              ("GET", "/orders", "/orders", {}),
              ("POST", "/orders", "/orders", {})]
    for i in range(count):
        method, template, path, params = routes[i % len(routes)]
        key = 10000 + start_n + i
        p = path.format(key)
        ps = {k: v.format(key) for k, v in params.items()}
        latency = 40 + (i * 37) % 400
        if slow_every and i % slow_every == 0:
            latency = slow_ms + (i * 131) % 2500
        request(b, start_n + i, t + i * 150, method, template, p, ps, "ok", latency=latency,
                status=201 if method == "POST" else 200)


def scenarios():
    out = {}

    b = Batch()
    traffic(b, 100, T0, 12)
    request(b, 1, T0 + 500, "POST", "/orders/{orderId}/pay", "/orders/ord-20931/pay", {"orderId": "ord-20931"}, "timeout")
    for i in range(6):
        request(b, 200 + i, T0 + 700 + i * 90, "POST", "/orders/{orderId}/pay", f"/orders/ord-2{i}100/pay",
                {"orderId": f"ord-2{i}100"}, "ok", latency=300 + i * 55)
    out["timeout-info"] = b.doc()

    b = Batch()
    request(b, 2, T0, "POST", "/orders/{orderId}/pay", "/orders/ord-1/pay", {}, "timeout", info=False)
    b.events = [e for e in b.events]  # ERROR level: only the failure and the final status
    out["timeout-error-level"] = b.doc()

    b = Batch()
    request(b, 3, T0, "GET", "/reports/{reportId}", "/reports/rep-7781", {"reportId": "rep-7781"}, "not_invoked")
    out["timeout-not-invoked"] = b.doc()

    b = Batch()
    traffic(b, 300, T0, 30, slow_every=5)
    out["near-limit"] = b.doc()

    b = Batch()
    traffic(b, 400, T0, 20)
    out["clean"] = b.doc()

    b = Batch()
    request(b, 5, T0, "GET", "/orders/{orderId}", "/orders/ord-555", {"orderId": "ord-555"}, "fn_timeout", latency=10003)
    out["function-timeout-502"] = b.doc()

    b = Batch(group=f"/aws/apigateway/{API}/{STAGE}/access", stream=f"{API}_{STAGE}-0a1b2c3d")
    access = [
        (rid(600), "GET", "/orders", "200", "88", "95", "-", "-"),
        (rid(601), "POST", "/orders", "201", "25410", "25433", "-", "-"),
        (rid(602), "POST", "/orders/{orderId}/pay", "504", "29001", "29010", "INTEGRATION_TIMEOUT", "-"),
        (rid(603), "GET", "/orders/{orderId}", "502", "35", "41", "INTEGRATION_FAILURE",
         "Lambda Customer Function Error:KeyError: 'orderId'"),
        (rid(604), "GET", "/orders/{orderId}", "403", "-", "2", "MISSING_AUTHENTICATION_TOKEN", "-"),
    ]
    for i, (r, m, p, st, il, rl, rt, ie) in enumerate(access):
        b.add(T0 + i * 1000, json.dumps({"requestId": r, "apiId": API, "stage": STAGE, "httpMethod": m,
                                         "resourcePath": p, "status": st, "integrationLatency": il,
                                         "responseLatency": rl, "errorResponseType": rt,
                                         "integrationErrorMessage": ie}, separators=(",", ":")))
    out["access-log"] = b.doc()

    b = Batch(group="/aws/lambda/orders-api", stream="2026/11/25/[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    lam = rid(700)
    b.add(T0, f"START RequestId: {lam} Version: $LATEST")
    b.add(T0 + 60000, f"2026-11-25T10:01:00.010Z {lam} Task timed out after 60.01 seconds")
    b.add(T0 + 60001, f"REPORT RequestId: {lam}\tDuration: 60013.52 ms\tBilled Duration: 60000 ms\t"
                      "Memory Size: 256 MB\tMax Memory Used: 91 MB\tStatus: timeout")
    out["backend-lambda-log"] = b.doc()

    out["control-message"] = {"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "",
                              "logStream": "", "subscriptionFilters": [],
                              "logEvents": [{"id": "", "timestamp": T0,
                                             "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}

    # A request whose lines arrive in two invocations: start in the first, timeout 29 s later in the second.
    b = Batch()
    request(b, 8, T0, "PUT", "/orders/{orderId}", "/orders/ord-8888", {"orderId": "ord-8888"}, "timeout")
    first = [e for e in b.events if not e["message"].endswith(("a timeout error", "status: 504"))]
    second = [e for e in b.events if e not in first]
    b1, b2 = Batch(), Batch()
    b1.events, b2.events = first, second
    out["split-part1"], out["split-part2"] = b1.doc(), b2.doc()
    return out


def encode(doc):
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode()


def main():
    global T0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--t0", type=int, default=T0,
                    help="epoch ms of the first line (the end-to-end test uses 'now': CloudWatch refuses old data)")
    args = ap.parse_args()
    out = args.out
    T0 = args.t0
    docs = scenarios()
    for name, doc in docs.items():
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump({"awslogs": {"data": encode(doc)}}, f)
            f.write("\n")
    kin = {"Records": [
        {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "p", "sequenceNumber": f"4960000000000000000000000{i}",
                     "data": encode(docs[name]), "approximateArrivalTimestamp": T0 / 1000 + i},
         "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"shardId-000000000000:4960000000000000000000000{i}",
         "eventName": "aws:kinesis:record", "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/apigw-doctor",
         "awsRegion": REGION, "eventSourceARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/apigw-logs"}
        for i, name in enumerate(["timeout-info", "near-limit"])]}
    with open(os.path.join(out, "kinesis.json"), "w") as f:
        json.dump(kin, f)
        f.write("\n")
    with open(os.path.join(out, "malformed.json"), "w") as f:
        # Valid base64, but of plain text, not gzip: the decoder must refuse it with a clear error.
        json.dump({"awslogs": {"data": base64.b64encode(b"this is not gzip").decode()}}, f)
        f.write("\n")
    print(f"wrote {len(docs) + 2} events to {out}")


if __name__ == "__main__":
    main()
