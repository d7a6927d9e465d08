#!/usr/bin/env python3
"""Starts MiniStack with three fidelity fixes: FilterLogEvents' term patterns as AWS reads them,
CloudTrail records of API Gateway REST changes named and addressed as AWS writes them, and an
UpdateIntegration of `timeoutInMillis` kept as the integer AWS keeps.

MiniStack 1.5.33 splits a pattern on every space (so a quoted phrase becomes two terms),
lower-cases both sides, and has no `?term` ("any of"). CloudWatch Logs documents
space-delimited term patterns as: a bare or quoted term must appear (quoted phrases as a
whole, case-sensitive), `-term` must not, and when `?term`s are present at least one of
them must appear ("?ERROR ?Exception" returns events with either; see the FilterLogEvents
reference, `filterPattern`, and "Filter pattern syntax for metric filters, subscription
filters and filter log events"). apigw-doctor's lookups send `?"START RequestId"
?"platform.start"` to find a function's runs in either log format, so without this the
emulator would return nothing where AWS returns the runs. JSON (`{...}`) and
space-delimited (`[...]`) patterns keep MiniStack's own handling.

MiniStack 1.5.33's CloudTrail (recording is off until a test turns it on through
POST /_ministack/config {"cloudtrail._recording_enabled": "true"}) names a REST API Gateway
call by its HTTP method (`PATCH.apigateway` for UpdateIntegration) and records only the
request body as `requestParameters`, so the ids in the path (`restApiId`, `resourceId`,
`httpMethod`, `stageName`) are missing. AWS names the action and records the ids (API Gateway
developer guide, "Logging calls to Amazon API Gateway APIs with AWS CloudTrail": e.g.
`"requestParameters": {"restApiId": …, "resourceId": …}`). For the REST changes apigw-doctor
relates to incidents (REST_CHANGES), the record gets AWS's name and the path's ids; every other
call keeps MiniStack's record.

MiniStack's UpdateIntegration stores a PATCH value as sent, a string (`"timeoutInMillis": "5000"`),
which its GetIntegration and GetResources then answer; the Integration shape's timeoutInMillis is
an integer (API Gateway API reference, Integration), and the Rust SDK rejects the string. The
value is stored as an integer, as AWS answers it.

Run by tests/aws/ministack.py in place of the `ministack` script.
"""
from __future__ import annotations

import os
import re
import shlex
import sys
from urllib.parse import unquote

# This folder holds tests/aws/ministack.py, which would shadow the `ministack` package.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
try:
    from ministack import app as ministack_app
    from ministack.services import apigateway_v1, cloudwatch_logs
except ImportError:
    raise SystemExit("ministack is not installed: run `make tools` (it installs requirements-dev.txt into .venv)")


def terms(raw: str) -> list[str] | None:
    """The pattern's terms with their quotes removed and their `?`/`-` kept, or None when
    the pattern is not a term pattern (or does not parse)."""
    try:
        lexer = shlex.shlex(raw, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        return list(lexer)
    except ValueError:
        return None


def compile_term_pattern(raw: str):
    raw = (raw or "").strip()
    if not raw or raw.startswith("{") or raw.startswith("["):
        return original(raw)
    parsed = terms(raw)
    if parsed is None:
        return original(raw)
    required = [t for t in parsed if not t.startswith(("?", "-"))]
    excluded = [t[1:] for t in parsed if t.startswith("-") and len(t) > 1]
    any_of = [t[1:] for t in parsed if t.startswith("?") and len(t) > 1]

    def matches(message: str) -> bool:
        return (
            all(t in message for t in required)
            and not any(t in message for t in excluded)
            and (not any_of or any(t in message for t in any_of))
        )

    return matches


original = cloudwatch_logs._compile_filter_pattern
cloudwatch_logs._compile_filter_pattern = compile_term_pattern

_METHOD = r"/restapis/(?P<restApiId>[^/]+)/resources/(?P<resourceId>[^/]+)/methods/(?P<httpMethod>[^/]+)"
REST_CHANGES = [
    ("PUT", _METHOD + "/integration", "PutIntegration"),
    ("PATCH", _METHOD + "/integration", "UpdateIntegration"),
    ("PUT", _METHOD, "PutMethod"),
    ("PATCH", _METHOD, "UpdateMethod"),
    ("POST", r"/restapis/(?P<restApiId>[^/]+)/deployments", "CreateDeployment"),
    ("POST", r"/restapis/(?P<restApiId>[^/]+)/stages", "CreateStage"),
    ("PATCH", r"/restapis/(?P<restApiId>[^/]+)/stages/(?P<stageName>[^/]+)", "UpdateStage"),
]
_rest_change = None  # (eventName, path ids) of the call being recorded


def rest_change(service: str, method: str, path: str):
    if service != "apigateway":
        return None
    for verb, pattern, name in REST_CHANGES:
        hit = re.fullmatch(pattern, path) if verb == method else None
        if hit:
            return name, {k: unquote(v) for k, v in hit.groupdict().items()}
    return None


def record_cloudtrail(service, method, path, headers, body, query_params, request_id, region):
    global _rest_change
    _rest_change = rest_change(service, method, path)
    try:
        return original_record(service, method, path, headers, body, query_params, request_id, region)
    finally:
        _rest_change = None


def ct_event_name(service, method, path, headers, query_params):
    return _rest_change[0] if _rest_change else original_event_name(service, method, path, headers, query_params)


def ct_request_params(headers, body, query_params):
    params = original_request_params(headers, body, query_params)
    return {**params, **_rest_change[1]} if _rest_change else params


original_record = ministack_app._maybe_record_cloudtrail
original_event_name = ministack_app._ct_event_name
original_request_params = ministack_app._ct_request_params
ministack_app._maybe_record_cloudtrail = record_cloudtrail
ministack_app._ct_event_name = ct_event_name
ministack_app._ct_request_params = ct_request_params


def update_integration(api_id, resource_id, http_method, data):
    out = original_update_integration(api_id, resource_id, http_method, data)
    method = apigateway_v1._resources.get(api_id, {}).get(resource_id, {}).get("resourceMethods", {}).get(http_method)
    integration = (method or {}).get("methodIntegration") or {}
    if isinstance(integration.get("timeoutInMillis"), str) and integration["timeoutInMillis"].isdigit():
        integration["timeoutInMillis"] = int(integration["timeoutInMillis"])
        out = apigateway_v1._v1_response(integration)
    return out


original_update_integration = apigateway_v1._update_integration
apigateway_v1._update_integration = update_integration

if __name__ == "__main__":
    sys.exit(ministack_app.main())
