# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The precheck framework: a registry of check classes and the loop that runs them.

A check is a class with a ``name``, a ``number`` (its place in the registry's order),
the ``probes`` it reads and a ``run(ctx)`` method. There is one way for a
check to fail: ``raise CheckFailed(msg, hint=..., details=...)``. Returning
normally is a pass; a dict returned becomes the evidence (``details``).

The loop runs every active check even when an earlier one fails, catches any
exception per check (a crashing check is a failure with its traceback tail as
evidence, never a crashed run), times each one, and applies the operator's
``skip`` / ``warn_only`` choices. Checks run on the managed host inside one
module execution, so all the checks cost one remote round trip.
"""

from __future__ import annotations

import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.nexus_cos.launch.plugins.module_utils import operator_hints

PASS = "PASS"
FAIL = "FAIL"
WARN = "WARN"
SKIP = "SKIP"

SEVERITIES = ("error", "warn")

GIB = 1024 ** 3

REGISTRY = {}


class CheckFailed(Exception):
    """Raised by a check to fail. ``level='warn'`` marks a finding that is
    only a warning whatever the check's severity (a dirty git tree)."""

    def __init__(self, msg, hint="", details=None, level="error"):
        super().__init__(msg)
        self.msg = msg
        self.hint = hint
        self.details = details or {}
        if level not in SEVERITIES:
            raise ValueError("level must be one of %s, got %r" % (SEVERITIES, level))
        self.level = level


class Check(object):
    """Base class. Subclasses set ``name``, ``number``, ``title``,
    ``default_severity`` and implement ``run(ctx)``."""

    name = ""
    number = 0
    title = ""
    default_severity = "error"

    def run(self, ctx):  # pragma: no cover - abstract
        raise NotImplementedError


def gib(value):
    """A size in bytes the way checks report it: ``3.8 GiB``."""
    return "%.1f GiB" % (value / float(GIB))


def registered_names():
    """The registered checks' names in their order (each check's number):
    the one list every count, help text and report takes them from."""
    return sorted(REGISTRY, key=lambda n: REGISTRY[n].number)


def register(cls):
    """Class decorator adding a check to the registry under its name."""
    if not cls.name or cls.name in REGISTRY:
        raise ValueError("check %r has no name or is registered twice" % cls.__name__)
    REGISTRY[cls.name] = cls
    return cls


def hint_vars(name):
    """The exact variables an operator sets to skip or downgrade a check."""
    return operator_hints.precheck_overrides(name)


class CheckContext(object):
    """What a check sees: its parameters and the host probe."""

    def __init__(self, params, host):
        self.params = params
        self.host = host

    def param(self, key):
        try:
            return self.params[key]
        except KeyError:
            raise KeyError("missing parameter %r" % key)


def _result(check, status, severity, msg, hint="", details=None, started=None):
    return {
        "name": check.name,
        "number": check.number,
        "title": check.title,
        "status": status,
        "severity": severity,
        "msg": msg,
        "hint": hint,
        "details": details or {},
        "duration_ms": int(round((time.monotonic() - started) * 1000)) if started else 0,
        "override": hint_vars(check.name),
    }


def run_one(check, params, host, severity, warn_only=False):
    """Run one check; never raises."""
    started = time.monotonic()
    effective = "warn" if warn_only else severity
    try:
        details = check.run(CheckContext(params, host)) or {}
    except CheckFailed as exc:
        status = FAIL if (effective == "error" and exc.level == "error") else WARN
        return _result(check, status, effective, exc.msg, exc.hint, exc.details, started)
    except Exception as exc:  # a broken check is a failed check, not a broken run
        tail = traceback.format_exc().strip().splitlines()[-3:]
        status = FAIL if effective == "error" else WARN
        return _result(check, status, effective, "check crashed: %s: %s" % (type(exc).__name__, exc),
                       "this is a defect in the check; report it with the details",
                       {"traceback": tail}, started)
    return _result(check, PASS, effective, _pass_message(check, details), "", details, started)


def _pass_message(check, details):
    return details.pop("summary", "%s ok" % check.title) if isinstance(details, dict) else "%s ok" % check.title


def run_checks(plan, host, skip=(), warn_only=(), workers=1):
    """Run every check in ``plan`` (``{name: {severity, params}}``, as the
    precheck_plan builds them); results come back in precheck order.

    Unknown names in plan, skip or warn_only, and bad severities, are an
    error raised before anything runs, so a typo never silently skips a
    check. With ``workers`` > 1 the checks run side by side: each one mostly
    waits on a command, a socket or a file, and none depends on another, so
    the pass takes about as long as its slowest check."""
    unknown = sorted((set(plan) | set(skip) | set(warn_only)) - set(REGISTRY))
    if unknown:
        raise ValueError("unknown precheck name(s): %s; known: %s"
                         % (", ".join(unknown), ", ".join(registered_names())))
    jobs = []
    for name in sorted(plan, key=lambda n: REGISTRY[n].number):
        check = REGISTRY[name]()
        entry = plan[name] or {}
        severity = entry.get("severity") or check.default_severity
        if severity not in SEVERITIES:
            raise ValueError("precheck %s: severity must be one of %s, got %r"
                             % (name, ", ".join(SEVERITIES), severity))
        jobs.append((check, entry.get("params") or {}, severity))

    def one(job):
        check, params, severity = job
        if check.name in skip:
            return _result(check, SKIP, severity, "skipped by precheck_skip", "", {})
        return run_one(check, params, host, severity, warn_only=check.name in warn_only)

    if workers <= 1:
        return [one(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, jobs))


def not_planned(plan):
    """SKIP results for the registered checks ``plan`` leaves out (their
    roles did not run: --tags, --skip-tags), so a report always lists every
    check and says why one did not run."""
    out = []
    for name in sorted(set(REGISTRY) - set(plan), key=lambda n: REGISTRY[n].number):
        check = REGISTRY[name]()
        out.append(_result(check, SKIP, check.default_severity,
                           "not run: --tags/--skip-tags left precheck_%s out of the plan" % name,
                           "run it with --tags precheck_%s, or without --tags/--skip-tags" % name, {}))
    return out


def summarize(results):
    counts = {PASS: 0, FAIL: 0, WARN: 0, SKIP: 0}
    for r in results:
        counts[r["status"]] += 1
    return {
        "passed": counts[PASS],
        "failed": counts[FAIL],
        "warned": counts[WARN],
        "skipped": counts[SKIP],
        "total": len(results),
        "ok": counts[FAIL] == 0,
    }


def render_log(results, header):
    """The host's precheck-<ts>.log: a line per check with its evidence."""
    lines = ["# Nexus COS Phase 4 precheck report", "# " + header, ""]
    for r in results:
        lines.append("%-4s %02d %-16s %s" % (r["status"], r["number"], r["name"], r["msg"]))
        if r["status"] in (FAIL, WARN) and r["hint"]:
            lines.append("     fix: %s" % r["hint"])
        for key, value in detail_items(r["details"]):
            lines.append("     %s: %s" % (key, _one_line(value)))
    s = summarize(results)
    lines += ["", "# passed=%(passed)d failed=%(failed)d warned=%(warned)d skipped=%(skipped)d" % s, ""]
    return "\n".join(lines)


def detail_items(details, prefix=""):
    """A check's evidence as (key, text) pairs, sorted, for a reader: nested
    mappings under dotted keys (services.docker: active), a list of plain
    values joined with commas, never a Python repr."""
    items = []
    for key in sorted(details, key=str):
        value, name = details[key], "%s%s" % (prefix, key)
        if isinstance(value, dict) and value:
            items.extend(detail_items(value, name + "."))
        elif isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in value):
            items.extend(detail_items(dict((str(i + 1), v) for i, v in enumerate(value)), name + "."))
        elif isinstance(value, (list, tuple)):
            items.append((name, ", ".join(_text(v) for v in value) if value else "(none)"))
        elif isinstance(value, dict):
            items.append((name, "(none)"))
        else:
            items.append((name, _text(value)))
    return items


def _text(value):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _one_line(value):
    return str(value).replace("\n", "\\n")[:500]
