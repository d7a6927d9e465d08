#!/usr/bin/env python3
"""Runs a command against MiniStack, the local AWS emulator, on a free loopback port.

    python tests/aws/ministack.py -- CMD ARGS...

Starts `ministack` from the venv this script runs in, waits until STS answers, runs CMD
with AWS_ENDPOINT_URL, region and test credentials set, and stops the emulator whatever
happens. Exits with CMD's status; fails loudly if the emulator does not come up.
Tests that need the emulator import `running()` instead.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

READY_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def ready(endpoint: str) -> bool:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    req = urllib.request.Request(endpoint + "/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x",
    })
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return r.status == 200
    except Exception:
        return False


@contextlib.contextmanager
def running(log_path: str | None = None):
    """Yields the endpoint URL of a MiniStack that lives for the `with` block."""
    # MiniStack, with FilterLogEvents' term patterns read as AWS reads them (ministack_serve.py).
    serve = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "ministack_serve.py")]
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    state = tempfile.mkdtemp(prefix="ministack-")
    log = open(log_path or os.path.join(state, "ministack.log"), "wb")
    # Loopback only, and no MQTT listener (its fixed port would clash between two emulators).
    # AWS_ENDPOINT_URL in the emulator's own environment is what it hands to the functions it
    # runs (provided.* bootstraps included), so a deployed function calls back here, never AWS.
    # Its environment is also the base of theirs: no LOG_LEVEL, which the function reads as its
    # own log filter (the emulator's log goes to a file at its default level).
    env = dict(os.environ, GATEWAY_PORT=str(port), BIND_HOST="127.0.0.1", MINISTACK_HOST="127.0.0.1",
               IOT_MTLS_ENABLED="0", AWS_ENDPOINT_URL=endpoint)
    env.pop("LOG_LEVEL", None)
    proc = subprocess.Popen(serve, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=state, start_new_session=True)
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not ready(endpoint):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = open(log.name, "rb").read()[-4000:].decode("utf-8", "replace")
                raise SystemExit(f"MiniStack did not start on {endpoint} (log {log.name}):\n{tail}")
            time.sleep(0.2)
        yield endpoint
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with running() as endpoint:
        print(f"MiniStack on {endpoint}", file=sys.stderr)
        return subprocess.call(argv, env=dict(os.environ, **client_env(endpoint)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
