#!/usr/bin/env python3
"""Init time and peak RSS of the real bootstrap binary, through the Lambda runtime API.

A small runtime API on 127.0.0.1 stands in for Lambda (the same HTTP protocol that
`cargo lambda watch` serves): the bootstrap is started, the time until it first asks
for an event (`GET /2018-06-01/runtime/invocation/next`) is its init (config parsed,
AWS clients built); then it is handed one batch, its response is checked, and the
process's peak RSS is read from /usr/bin/time -v. The same server answers the
CloudWatch and SNS calls (an empty PutMetricData result, a Publish MessageId), so the
invocation does all its real work, publishing included.

    python3 bench/init.py BOOTSTRAP EVENT.json [RUNS]
"""
import http.server
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

CBOR_EMPTY_MAP = b"\xa0"
PUBLISH_OK = (b'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
              b'<MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId>'
              b'</ResponseMetadata></PublishResponse>')


class State:
    def __init__(self, event):
        self.event = event
        self.first_next = None
        self.handed = False
        self.response = None
        self.error = None
        self.done = threading.Event()
        self.metric_calls = 0
        self.publishes = 0


def handler_for(state):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def reply(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path.endswith("/runtime/invocation/next"):
                if state.first_next is None:
                    state.first_next = time.perf_counter()
                if state.handed:
                    # Second ask: the first invocation is over. Hold it; the process is stopped.
                    state.done.wait()
                    return
                state.handed = True
                deadline = int(time.time() * 1000) + 60_000
                self.reply(200, state.event, [("Lambda-Runtime-Aws-Request-Id", "init-bench-1"),
                                              ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                                              ("Lambda-Runtime-Invoked-Function-Arn",
                                               "arn:aws:lambda:us-east-1:123456789012:function:apigw-doctor"),
                                              ("Content-Type", "application/json")])
            else:
                self.reply(404)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if "/runtime/invocation/" in self.path:
                if self.path.endswith("/response"):
                    state.response = body
                else:
                    state.error = body
                self.reply(202)
                state.done.set()
            elif self.path.startswith("/service/GraniteServiceVersion20100801"):
                state.metric_calls += 1
                self.reply(200, CBOR_EMPTY_MAP, [("smithy-protocol", "rpc-v2-cbor"),
                                                 ("Content-Type", "application/cbor")])
            else:
                state.publishes += 1
                self.reply(200, PUBLISH_OK, [("Content-Type", "text/xml")])

    return Handler


def run_once(bootstrap, event):
    state = State(event)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    addr = f"127.0.0.1:{server.server_address[1]}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": addr,
        "AWS_LAMBDA_FUNCTION_NAME": "apigw-doctor",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/apigw-doctor",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/25/[$LATEST]init",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": f"http://{addr}",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:apigw-doctor-alerts",
        "LOG_LEVEL": "warn",
    }
    started = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/time", "-v", bootstrap], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    finished = state.done.wait(timeout=120)
    # Stop the bootstrap itself (GNU time waits for its child, then reports).
    time.sleep(0.2)
    with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
        for child in f.read().split():
            os.kill(int(child), signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    server.shutdown()
    if not finished or state.first_next is None:
        raise SystemExit(f"bootstrap did not finish its first invocation: {stderr[-2000:]}")
    if state.error is not None:
        raise SystemExit(f"the invocation failed: {state.error[:2000]!r}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    return {
        "init_ms": (state.first_next - started) * 1000,
        "rss_mb": int(m.group(1)) / 1024 if m else None,
        "summary": json.loads(state.response),
        "metric_calls": state.metric_calls,
        "publishes": state.publishes,
    }


def main():
    bootstrap, event_path = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    event = open(event_path, "rb").read()
    results = [run_once(bootstrap, event) for _ in range(runs)]
    inits = sorted(r["init_ms"] for r in results)
    last = results[-1]
    s = last["summary"]
    print(f"bootstrap init (process start -> first GET /invocation/next), {runs} runs: "
          f"median {statistics.median(inits):.1f} ms, min {inits[0]:.1f} ms, max {inits[-1]:.1f} ms")
    print(f"one invocation on {os.path.basename(event_path)}: peak RSS {max(r['rss_mb'] for r in results):.1f} MB "
          f"(whole process, /usr/bin/time -v); {s['log_events']} events, {s['requests']} requests, "
          f"{s['timeouts']} timeouts, {s['near_limit']} near limit; PutMetricData calls: {last['metric_calls']}, "
          f"SNS publishes: {last['publishes']}")


if __name__ == "__main__":
    main()
