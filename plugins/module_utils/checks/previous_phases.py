# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 10: the Phase 1-2 audit report is present and clean."""

from __future__ import annotations

import re

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import Check, CheckFailed, register

INCORRECT = "Total Incorrect Systems"
ERRORS = "Errors"


def _field(label, value=r"(\d+)"):
    """A summary line as the report writes it, markdown emphasis allowed:
    ``- **Errors:** 0``, ``**Errors**: 0``, ``Errors: 0`` or a table cell."""
    return re.compile(r"^[ \t>*_|-]*(?:\*\*|__)?%s(?:\*\*|__)?[ \t]*[:|][ \t]*(?:\*\*|__)?[ \t]*%s"
                      % (re.escape(label), value), re.M | re.I)


PATTERNS = {
    INCORRECT: _field(INCORRECT),
    ERRORS: _field(ERRORS),
    "verified": _field("Total Verified Systems"),
    "generated": _field("Generated", r"([^\n*|]+?)[ \t*|]*$"),
}


def parse_report(text):
    """The numbers a Phase 1-2 report states: {label: int or str}; missing
    labels are absent. The first occurrence counts (the executive summary)."""
    out = {}
    for key, pattern in PATTERNS.items():
        match = pattern.search(text)
        if match:
            value = match.group(1).strip()
            out[key] = int(value) if value.isdigit() else value
    return out


@register
class PreviousPhasesCheck(Check):
    name = "previous_phases"
    number = 10
    title = "Previous phases"
    default_severity = "warn"

    def run(self, ctx):
        path = ctx.param("report")
        text = ctx.host.read_text(path)
        if text is None:
            raise CheckFailed(
                "Phase 1-2 report %s not found; expected the Phase 1-2 canonical audit report" % path,
                hint="run the Phase 1-2 governance audit (it writes this report) "
                     "or set nexus_previous_phase_report to where it is")
        found = parse_report(text)
        evidence = {"report": path}
        if "generated" in found:
            evidence["generated"] = found["generated"]
        if "verified" in found:
            evidence["verified_systems"] = found["verified"]
        missing = [label for label in (INCORRECT, ERRORS) if label not in found]
        if missing:
            raise CheckFailed(
                "could not find %s in %s" % (" or ".join("'%s'" % m for m in missing), path),
                hint="check that %s is the Phase 1-2 audit report (it states '%s: N' and '%s: N'); "
                     "re-run the Phase 1-2 audit if it is truncated" % (path, INCORRECT, ERRORS),
                details=evidence)
        incorrect, errors = found[INCORRECT], found[ERRORS]
        evidence.update(incorrect_systems=incorrect, errors=errors)
        if incorrect or errors:
            raise CheckFailed(
                "Phase 1-2 report lists %d incorrect system(s) and %d error(s); expected 0 and 0"
                % (incorrect, errors),
                hint="resolve the systems and errors listed in %s and re-run the Phase 1-2 audit" % path,
                details=evidence)
        evidence["summary"] = "Phase 1-2 report: %s verified system(s), 0 incorrect, 0 errors%s" % (
            evidence.get("verified_systems", "?"),
            " (generated %s)" % evidence["generated"] if "generated" in evidence else "")
        return evidence
