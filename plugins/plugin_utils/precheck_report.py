# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Controller-side reports of a precheck run: JSON, JUnit XML and the
failure listing the play ends with. Pure functions, no I/O."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import detail_items


def to_json(host, run_id, results, summary):
    return json.dumps({"host": host, "run_id": run_id, "summary": summary, "results": results},
                      indent=2, sort_keys=True) + "\n"


def readable_details(details):
    """A check's evidence as "key: value" lines; a value of several lines
    continues indented below its key."""
    lines = []
    for key, text in detail_items(details):
        first, dummy, rest = text.partition("\n")
        lines.append("%s: %s" % (key, first))
        lines.extend("    " + part for part in rest.splitlines())
    return lines


def to_junit(host, run_id, results, summary):
    """One testsuite per host, one testcase per check. FAIL is a failure,
    SKIP is skipped, WARN passes with the warning in system-out."""
    total_s = sum(r["duration_ms"] for r in results) / 1000.0
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<testsuites name="nexus-cos-precheck" tests="%d" failures="%d" skipped="%d" time="%.3f">'
             % (summary["total"], summary["failed"], summary["skipped"], total_s),
             '  <testsuite name=%s tests="%d" failures="%d" skipped="%d" time="%.3f">'
             % (quoteattr("precheck." + host), summary["total"], summary["failed"], summary["skipped"], total_s),
             '    <properties><property name="run_id" value=%s/></properties>' % quoteattr(run_id or "")]
    for r in results:
        lines.append('    <testcase classname=%s name=%s time="%.3f">' % (
            quoteattr("precheck." + host), quoteattr("%02d_%s" % (r["number"], r["name"])), r["duration_ms"] / 1000.0))
        if r["status"] == "FAIL":
            lines.append('      <failure message=%s>%s</failure>' % (
                quoteattr(r["msg"]), escape("fix: %s\nskip: %s\ndowngrade: %s" % (
                    r["hint"], r["override"]["skip"], r["override"]["warn_only"]))))
        elif r["status"] == "SKIP":
            lines.append('      <skipped message=%s/>' % quoteattr(r["msg"]))
        if r["status"] == "WARN" or r["details"]:
            lines.append('      <system-out>%s</system-out>' % escape(
                ("WARNING: %s\n" % r["msg"] if r["status"] == "WARN" else "")
                + "\n".join(readable_details(r["details"]))))
        lines.append('    </testcase>')
    lines += ['  </testsuite>', '</testsuites>', '']
    return "\n".join(lines)


def table(results):
    """The readable summary table printed at the end of a run."""
    rows = ["%-4s  %-2s  %-16s  %-5s  %7s  %s" % ("", "#", "check", "sev", "ms", "result")]
    for r in results:
        rows.append("%-4s  %02d  %-16s  %-5s  %7d  %s" % (
            r["status"], r["number"], r["name"], r["severity"], r["duration_ms"], r["msg"]))
    return rows


def failure_listing(host, results):
    """Each error-severity failure: found, fix, and the variables that skip
    or downgrade it."""
    out = []
    for r in results:
        if r["status"] != "FAIL":
            continue
        out.append("%s: precheck %02d %s failed: %s" % (host, r["number"], r["name"], r["msg"]))
        if r["hint"]:
            out.append("    fix: %s" % r["hint"])
        out.append("    skip it: %s   or downgrade it: %s" % (r["override"]["skip"], r["override"]["warn_only"]))
    return out
