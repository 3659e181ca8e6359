# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl --json: exactly one JSON document on stdout, every message for a
person on stderr. A command records its result here; __main__ prints the
document when the command has returned, with the same shape for all:

  {"command": "precheck", "exit_code": 1, "ok": false, "result": {...}}

``result`` is the command's own: a run's summary (playbook_run.run_summary),
status's hosts, validate's report, audit verify's check, audit tail's
records; null when the command stopped before it had one (a usage error:
the reason is on stderr)."""

from __future__ import annotations

import json

_RESULT = []


def record(result):
    """The command's result, as the document's ``result``."""
    del _RESULT[:]
    _RESULT.append(result)


def wanted(args):
    return bool(getattr(args, "json", False))


def document(command, code):
    result = _RESULT[-1] if _RESULT else None
    del _RESULT[:]
    return json.dumps({"command": command, "exit_code": code, "ok": code == 0, "result": result},
                      indent=2, sort_keys=True, default=str)
