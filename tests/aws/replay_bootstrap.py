#!/usr/bin/env python3
"""The replay through the real `bootstrap`: K processes, each behind its own Lambda runtime
API on 127.0.0.1 (the protocol `cargo lambda watch` serves), against MiniStack for
CloudWatch, SNS and CloudWatch Logs. The log groups hold the replay's events (PutLogEvents),
so a timeout whose start went to the other process is healed by a real FilterLogEvents.

    python tests/aws/replay_bootstrap.py BOOTSTRAP REPLAY_EXAMPLE

REPLAY_EXAMPLE is the built `examples/replay` binary (it writes the traffic, see its doc).
Checks: every invocation succeeds; every orphaned timeout or error is looked up and healed
(none failed, none skipped); every timeout of the truth is published.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import http.server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ministack import client_env, running  # noqa: E402

import boto3  # noqa: E402


class Runtime:
    """One container's runtime API: hands out events one at a time, collects responses."""

    def __init__(self):
        self.events: queue.Queue = queue.Queue()
        self.results: queue.Queue = queue.Queue()
        rt = self

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
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404)
                n, event = rt.events.get()
                if event is None:
                    return  # the end: the process is stopped while it waits
                import time
                deadline = int(time.time() * 1000) + 60_000
                self.reply(200, event, [("Lambda-Runtime-Aws-Request-Id", f"replay-{n}"),
                                        ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                                        ("Lambda-Runtime-Invoked-Function-Arn",
                                         "arn:aws:lambda:us-east-1:123456789012:function:apigw-doctor"),
                                        ("Content-Type", "application/json")])

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.reply(202)
                rt.results.put((self.path.endswith("/response"), body))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addr = f"127.0.0.1:{self.server.server_address[1]}"


def main():
    bootstrap, example = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, REPLAY_DUMP=d, REPLAY_K="2", REPLAY_MINUTES="10", REPLAY_PER_MINUTE="14")
        subprocess.run([example], env=env, check=True)
        streams = json.load(open(os.path.join(d, "streams.json")))
        plan = json.load(open(os.path.join(d, "deliveries.json")))

    with running() as endpoint:
        aws = client_env(endpoint)
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        logs = session.client("logs", endpoint_url=endpoint)
        topic = session.client("sns", endpoint_url=endpoint).create_topic(Name="apigw-doctor-alerts")["TopicArn"]
        for s in streams:
            try:
                logs.create_log_group(logGroupName=s["group"])
            except logs.exceptions.ResourceAlreadyExistsException:
                pass
            logs.create_log_stream(logGroupName=s["group"], logStreamName=s["stream"])
            evs = s["events"]
            for i in range(0, len(evs), 5000):
                logs.put_log_events(logGroupName=s["group"], logStreamName=s["stream"], logEvents=evs[i:i + 5000])

        runtimes, procs = [], []
        for c in range(plan["k"]):
            rt = Runtime()
            penv = dict(aws, PATH=os.environ.get("PATH", "/usr/bin:/bin"), AWS_LAMBDA_RUNTIME_API=rt.addr,
                        AWS_LAMBDA_FUNCTION_NAME="apigw-doctor", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
                        AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/apigw-doctor",
                        AWS_LAMBDA_LOG_STREAM_NAME=f"replay-{c}", ALERT_TOPIC_ARN=topic, LOG_LEVEL="warn")
            runtimes.append(rt)
            procs.append(subprocess.Popen([bootstrap], env=penv, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        totals = {"invocations": 0, "failed": 0, "timeouts": 0, "orphans": 0, "lookups": 0, "healed": 0,
                  "lookup_failures": 0, "skipped": 0}
        try:
            for n, d in enumerate(plan["deliveries"]):
                rt = runtimes[d["container"]]
                rt.events.put((n, d["event"].encode()))
                ok, body = rt.results.get(timeout=120)
                totals["invocations"] += 1
                if not ok:
                    totals["failed"] += 1
                    print("invocation failed:", body[:500], file=sys.stderr)
                    continue
                s = json.loads(body)
                h = s["healing"]
                totals["timeouts"] += s["timeouts"]
                totals["orphans"] += h["orphans"]
                totals["lookups"] += h["lookups"]
                totals["healed"] += h["healed"]
                totals["lookup_failures"] += h["failed"]
                totals["skipped"] += h["skipped"]
        finally:
            for rt in runtimes:
                rt.events.put((0, None))
            for p in procs:
                p.terminate()
                p.wait(timeout=30)
            for rt in runtimes:
                rt.server.shutdown()
    print(f"real bootstrap × {plan['k']}: {totals} (truth: {plan['timeouts']} timeouts)")
    assert totals["failed"] == 0, totals
    assert totals["invocations"] == len(plan["deliveries"]), totals
    assert totals["orphans"] > 0 and totals["lookups"] == totals["orphans"], totals
    assert totals["healed"] == totals["orphans"], totals
    assert totals["lookup_failures"] == 0 and totals["skipped"] == 0, totals
    assert totals["timeouts"] >= plan["timeouts"], totals
    print("replay_bootstrap: ok")


if __name__ == "__main__":
    main()
