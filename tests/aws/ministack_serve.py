#!/usr/bin/env python3
"""Starts MiniStack with one fidelity fix: FilterLogEvents' term patterns as AWS reads them.

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

Run by tests/aws/ministack.py in place of the `ministack` script.
"""
from __future__ import annotations

import os
import shlex
import sys

# This folder holds tests/aws/ministack.py, which would shadow the `ministack` package.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
try:
    from ministack.services import cloudwatch_logs
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

if __name__ == "__main__":
    from ministack.app import main

    sys.exit(main())
