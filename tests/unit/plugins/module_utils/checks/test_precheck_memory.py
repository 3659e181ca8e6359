"""Precheck 5 (memory) against a fake host."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import run_checks

from ansible_collections.nexus_cos.launch.tests.unit.utils.fake_host import FakeHost
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths
from ansible_collections.nexus_cos.launch.tests.unit.utils.precheck_runs import assert_defaults_match

GIB = 1024 ** 3
PARAMS = {"min_gb": 4.0, "recommended_gb": 8.0, "min_available_gb": 1.0}
ROLE = repo_paths.role("precheck_memory")


def memory(total, available=None, severity="error", **params):
    info = {"MemTotal": int(total * GIB)}
    if available is not None:
        info["MemAvailable"] = int(available * GIB)
    plan = {"memory": {"severity": severity, "params": dict(PARAMS, **params)}}
    return run_checks(plan, FakeHost(meminfo=info))[0]


def test_passes_with_enough_memory():
    r = memory(16, 9)
    assert r["status"] == "PASS", r
    assert r["msg"] == "16.0 GiB total, 9.0 GiB available"
    assert r["details"]["available"] == "9.0 GiB"


def test_fails_below_the_minimum():
    r = memory(2, 1.5)
    assert r["status"] == "FAIL"
    assert r["msg"] == "4.0 GiB needed, 2.0 GiB total"
    assert "precheck_memory_min_gb" in r["hint"]


def test_default_severity_is_warn():
    r = run_checks({"memory": {"params": PARAMS}}, FakeHost(meminfo={"MemTotal": 2 * GIB}))[0]
    assert (r["status"], r["severity"]) == ("WARN", "warn")


def test_a_4_gib_vps_meets_the_minimum_but_not_the_recommendation():
    # A 4 GiB VPS: the kernel keeps some, MemTotal reads about 3.8 GiB.
    r = memory(3.84, 3)
    assert r["status"] == "WARN"
    assert r["msg"] == "3.8 GiB total, below the recommended 8.0 GiB"
    assert "precheck_memory_recommended_gb" in r["hint"]


def test_an_8_gib_vps_meets_the_recommendation():
    assert memory(7.77, 6)["status"] == "PASS"


def test_just_below_the_allowance_fails():
    assert memory(3.5, 3)["msg"] == "4.0 GiB needed, 3.5 GiB total"


def test_low_available_memory_warns():
    r = memory(16, 0.5)
    assert r["status"] == "WARN"
    assert r["msg"] == "only 0.5 GiB available, need 1.0 GiB"
    assert "precheck_memory_min_available_gb" in r["hint"]


def test_both_warnings_are_reported_together():
    r = memory(6, 0.5)
    assert r["msg"] == "6.0 GiB total, below the recommended 8.0 GiB; only 0.5 GiB available, need 1.0 GiB"


def test_missing_memavailable_is_unknown_not_a_failure():
    r = memory(16)
    assert r["status"] == "PASS" and r["details"]["available"] == "unknown"


def test_unreadable_meminfo_fails():
    r = run_checks({"memory": {"severity": "error", "params": PARAMS}}, FakeHost())[0]
    assert r["msg"] == "could not read MemTotal from /proc/meminfo; expected the kernel's memory figures"


def test_role_defaults_match_argument_specs():
    assert_defaults_match(ROLE)
