"""The precheck loop: every check runs, one way to fail, overrides."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks import framework as precheck
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import (Check, CheckFailed, run_checks,
                                                                                        summarize, render_log)
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import precheck_report


@pytest.fixture
def registry(monkeypatch):
    """A registry of three toy checks, isolated from the real registry."""
    reg = {}
    monkeypatch.setattr(precheck, "REGISTRY", reg)

    class Passing(Check):
        name, number, title = "alpha", 1, "Alpha"

        def run(self, ctx):
            return {"seen": ctx.param("value"), "summary": "alpha fine"}

    class Failing(Check):
        name, number, title = "beta", 2, "Beta"

        def run(self, ctx):
            raise CheckFailed("beta broke", hint="fix beta", details={"found": 1})

    class Crashing(Check):
        name, number, title = "gamma", 3, "Gamma"

        def run(self, ctx):
            return {}["missing"]

    class Warning(Check):
        name, number, title = "delta", 4, "Delta"

        def run(self, ctx):
            raise CheckFailed("delta is dirty", hint="commit", level="warn")

    for cls in (Passing, Failing, Crashing, Warning):
        precheck.register(cls)
    return reg


def plan(**entries):
    return {name: {"severity": sev, "params": {"value": 7}} for name, sev in entries.items()}


def test_every_check_runs_even_after_failures(registry):
    results = run_checks(plan(gamma="error", beta="error", alpha="error", delta="error"), host=None)
    assert [r["name"] for r in results] == ["alpha", "beta", "gamma", "delta"]
    assert [r["status"] for r in results] == ["PASS", "FAIL", "FAIL", "WARN"]


def test_pass_carries_summary_and_evidence(registry):
    (result,) = run_checks(plan(alpha="error"), host=None)
    assert result["msg"] == "alpha fine"
    assert result["details"] == {"seen": 7}
    assert set(result) >= {"status", "msg", "hint", "details", "duration_ms"}


def test_crash_is_a_failure_with_traceback(registry):
    (result,) = run_checks(plan(gamma="error"), host=None)
    assert result["status"] == "FAIL"
    assert result["msg"].startswith("check crashed: KeyError")
    assert result["details"]["traceback"]


def test_warn_severity_turns_failure_into_warning(registry):
    (result,) = run_checks(plan(beta="warn"), host=None)
    assert result["status"] == "WARN"


def test_warn_only_downgrades_and_skip_skips(registry):
    results = run_checks(plan(alpha="error", beta="error"), host=None, skip=["alpha"], warn_only=["beta"])
    assert [r["status"] for r in results] == ["SKIP", "WARN"]
    assert results[1]["severity"] == "warn"


def test_unknown_names_are_refused_before_running(registry):
    with pytest.raises(ValueError, match="unknown precheck name.*nope"):
        run_checks(plan(alpha="error"), host=None, skip=["nope"])


def test_bad_severity_is_refused(registry):
    with pytest.raises(ValueError, match="severity must be one of error, warn, got 'fatal'"):
        run_checks({"alpha": {"severity": "fatal"}}, host=None)


def test_summary_and_listing_name_the_override_variables(registry):
    results = run_checks(plan(alpha="error", beta="error", delta="error"), host=None)
    summary = summarize(results)
    assert summary == {"passed": 1, "failed": 1, "warned": 1, "skipped": 0, "total": 3, "ok": False}
    listing = "\n".join(precheck_report.failure_listing("vps1", results))
    assert "vps1: precheck 02 beta failed: beta broke" in listing
    assert "fix: fix beta" in listing
    assert '"precheck_skip": ["beta"]' in listing
    assert '"precheck_warn_only": ["beta"]' in listing
    assert "delta" not in listing  # warnings do not fail the run


def test_log_and_junit_carry_every_check(registry):
    results = run_checks(plan(alpha="error", beta="error", delta="error"), host=None, skip=[])
    log = render_log(results, "run r1")
    assert "PASS 01 alpha" in log and "FAIL 02 beta" in log and "WARN 04 delta" in log
    assert "fix: fix beta" in log
    junit = precheck_report.to_junit("vps1", "r1", results, summarize(results))
    assert junit.count("<testcase ") == 3
    assert junit.count("<failure ") == 1
    import xml.dom.minidom
    xml.dom.minidom.parseString(junit)  # well-formed


def test_register_twice_is_refused(registry):
    class Again(Check):
        name, number = "alpha", 9
    with pytest.raises(ValueError):
        precheck.register(Again)


def test_parallel_run_gives_the_same_results_in_order(registry):
    entries = plan(delta="error", alpha="error", beta="error", gamma="error")
    serial = run_checks(entries, host=None)
    parallel = run_checks(entries, host=None, workers=4)
    strip = [{k: v for k, v in r.items() if k != "duration_ms"} for r in serial]
    assert [{k: v for k, v in r.items() if k != "duration_ms"} for r in parallel] == strip
    assert [r["name"] for r in parallel] == ["alpha", "beta", "gamma", "delta"]


def test_checks_overlap_when_run_side_by_side(monkeypatch):
    import threading
    import time as _time
    reg = {}
    monkeypatch.setattr(precheck, "REGISTRY", reg)
    inside, peak, lock = [0], [0], threading.Lock()

    def make(n):
        class Slow(Check):
            name, number, title = "slow%d" % n, n, "Slow"

            def run(self, ctx):
                with lock:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                _time.sleep(0.05)
                with lock:
                    inside[0] -= 1
        return Slow
    for n in range(1, 5):
        precheck.register(make(n))
    run_checks({"slow%d" % n: {} for n in range(1, 5)}, host=None, workers=4)
    assert peak[0] > 1
