"""Precheck 10 (previous phases) against a fake host."""

from __future__ import annotations

import os

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import run_checks
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.previous_phases import parse_report

from ansible_collections.nexus_cos.launch.tests.unit.utils.fake_host import FakeHost
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths
from ansible_collections.nexus_cos.launch.tests.unit.utils.precheck_runs import assert_defaults_match

REPORT = "/opt/nexus-cos/PHASE_1_2_CANONICAL_AUDIT_REPORT.md"
PLATFORM_REPORT = os.path.join(repo_paths.PLATFORM_FIXTURES, "PHASE_1_2_CANONICAL_AUDIT_REPORT.md")
ROLE = repo_paths.role("precheck_previous_phases")

CLEAN = """# Phase 1 & 2 Canonical Audit Report

**Generated:** 2026-02-01 09:00:00 UTC

## Executive Summary

- **Total Verified Systems:** 12
- **Total Incorrect Systems:** 0
- **Errors:** 0
- **Warnings:** 3
"""


def previous(text):
    files = {REPORT: text} if text is not None else {}
    return run_checks({"previous_phases": {"severity": "error", "params": {"report": REPORT}}},
                      FakeHost(files=files))[0]


def test_clean_report_passes_with_its_evidence():
    r = previous(CLEAN)
    assert r["status"] == "PASS", r
    assert r["msg"] == "Phase 1-2 report: 12 verified system(s), 0 incorrect, 0 errors (generated 2026-02-01 09:00:00 UTC)"
    assert r["details"]["generated"] == "2026-02-01 09:00:00 UTC"
    assert r["details"]["verified_systems"] == 12


def test_incorrect_systems_and_errors_fail():
    r = previous(CLEAN.replace("Incorrect Systems:** 0", "Incorrect Systems:** 2").replace("Errors:** 0", "Errors:** 1"))
    assert r["status"] == "FAIL"
    assert r["msg"] == "Phase 1-2 report lists 2 incorrect system(s) and 1 error(s); expected 0 and 0"
    assert REPORT in r["hint"]


def test_missing_report_fails():
    r = previous(None)
    assert r["msg"] == ("Phase 1-2 report %s not found; expected the Phase 1-2 canonical audit report" % REPORT)
    assert "nexus_previous_phase_report" in r["hint"]


def test_missing_numbers_fail():
    r = previous(CLEAN.replace("- **Total Incorrect Systems:** 0\n", ""))
    assert r["msg"] == "could not find 'Total Incorrect Systems' in %s" % REPORT
    r = previous("# empty\n")
    assert r["msg"] == "could not find 'Total Incorrect Systems' or 'Errors' in %s" % REPORT


def test_default_severity_is_warn():
    r = run_checks({"previous_phases": {"params": {"report": REPORT}}}, FakeHost())[0]
    assert r["status"] == "WARN"


@pytest.mark.parametrize("line,value", [
    ("- **Errors:** 3", 3),
    ("**Errors**: 3", 3),
    ("Errors: 3", 3),
    ("| Errors | 3 |", 3),
    ("  * __Errors__ : 3", 3),
])
def test_markdown_forms(line, value):
    assert parse_report(line + "\n")["Errors"] == value


def test_prose_mentioning_errors_is_not_a_count():
    assert "Errors" not in parse_report("Errors were found in: 3 places\nNo Errors: none\n")


def test_the_platforms_own_report_passes():
    if not os.path.exists(PLATFORM_REPORT):
        pytest.skip("platform fixtures not present")
    with open(PLATFORM_REPORT, encoding="utf-8") as handle:
        r = previous(handle.read())
    assert r["status"] == "PASS", r
    assert r["details"]["verified_systems"] == 24
    assert r["details"]["generated"] == "2026-01-07 18:41:37 UTC"


def test_role_defaults_match_argument_specs():
    assert_defaults_match(ROLE)
