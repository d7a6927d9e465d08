#!/usr/bin/env python3
"""Fixes one LocalStack 4.9.2 bug in the project's .venv (never the system Python).

LocalStack's CBOR request parser reads a CBOR timestamp (tag 1) with `int(str(value))`,
so the float epoch seconds that the AWS SDK for Rust sends (aws-smithy-cbor encodes
tag 1 + f64) fail with "An unknown error occurred when trying to parse the request".
That is every PutMetricData with a Timestamp, and GetMetricData's StartTime/EndTime.
Real CloudWatch accepts them. The fix parses the value as a float first. Idempotent;
fails loudly if the code it fixes is not found (a newer LocalStack may not need it).
"""
import importlib.util
import pathlib
import sys

BUGGY = "return datetime.datetime.fromtimestamp(int(timestamp_string), tz=datetime.UTC)"
FIXED = "return datetime.datetime.fromtimestamp(int(float(timestamp_string)), tz=datetime.UTC)"

spec = importlib.util.find_spec("localstack.aws.protocol.parser")
if spec is None or spec.origin is None:
    sys.exit("patch_localstack: localstack is not installed in this Python")
path = pathlib.Path(spec.origin)
text = path.read_text()
if FIXED in text:
    print(f"patch_localstack: {path} already fixed")
elif BUGGY in text:
    path.write_text(text.replace(BUGGY, FIXED))
    print(f"patch_localstack: fixed float CBOR timestamps in {path}")
else:
    sys.exit(f"patch_localstack: the expected code is not in {path}; check whether the fix is still needed")
