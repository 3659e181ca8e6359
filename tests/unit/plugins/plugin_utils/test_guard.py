"""The launch guard's judgement (plugin_utils/guard.py) and the probe it
feeds on (gateway.probe, module gateway_info against the sandbox double)."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import gateway
from ansible_collections.nexus_cos.launch.plugins.modules import gateway_info
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import guard

from ansible_collections.nexus_cos.launch.tests.unit.utils.gateway_double import Double, sample_repo
from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import run_module

UP = {"health": 200, "health_text": "HTTP 200", "latency_ms": 12, "access_mode": "public_full", "flags": 9,
      "flags_http": "HTTP 200", "marketplace_phase": 3, "pf": {"marketplace": 200, "jurisdiction": 200,
                                                               "ai_dealers": 503, "federation": 503, "creator": 503}}
DOWN = {"health": 0, "health_text": "no answer (connection refused)", "latency_ms": 1, "access_mode": None,
        "flags": None, "flags_http": "no answer (connection refused)", "pf": {}}


def watch(observations, **settings):
    g = guard.Guard(guard.config(**settings), started=0)
    return g, [g.observe(obs, at) for at, obs in observations]


def test_healthy_platform_is_ok_all_along():
    g, verdicts = watch([(t, UP) for t in range(0, 60, 5)], expect_mode="public_full")
    assert [v["level"] for v in verdicts] == ["ok"] * 12
    assert g.summary()["worst"] == "ok" and g.summary()["breach"] is None and g.summary()["looks"] == 12


def test_unavailable_beyond_the_threshold_is_critical_and_says_for_how_long():
    g, verdicts = watch([(0, UP), (20, DOWN), (35, DOWN), (50, DOWN), (55, DOWN)], unavailable_seconds=30)
    assert [v["level"] for v in verdicts] == ["ok", "warn", "warn", "critical", "critical"]
    assert verdicts[3]["reasons"] == ["the platform is unavailable for 30 s (threshold 30 s): /health no answer "
                                      "(connection refused)"]
    assert g.breach is verdicts[3]


def test_a_recovery_resets_the_unavailable_clock():
    dummy, verdicts = watch([(0, DOWN), (20, DOWN), (25, UP), (40, DOWN), (60, DOWN)], unavailable_seconds=30)
    assert [v["level"] for v in verdicts] == ["warn", "warn", "ok", "warn", "warn"]


def test_a_gateway_serving_no_flags_counts_as_unavailable():
    nothing = dict(UP, access_mode="none", flags=0)
    dummy, verdicts = watch([(0, nothing), (31, nothing)], unavailable_seconds=30)
    assert verdicts[1]["level"] == "critical" and "serves no flags at all" in verdicts[1]["reasons"][0]


def test_latency_threshold_uses_the_median_of_recent_answers():
    slow = dict(UP, latency_ms=450)
    dummy, verdicts = watch([(0, UP), (5, slow), (10, slow), (15, slow)], latency_ms=200, latency_samples=3,
                            latency_level="critical")
    assert [v["level"] for v in verdicts] == ["ok", "ok", "critical", "critical"]
    assert verdicts[2]["reasons"] == ["median /health latency 450 ms over the last 3 answers is above 200 ms"]


def test_error_rate_counts_5xx_and_silence_but_not_a_switched_off_feature():
    flaky = dict(UP, pf=dict(UP["pf"], marketplace=500))
    obs = [(t, flaky if t % 10 else UP) for t in range(0, 50, 5)]
    dummy, verdicts = watch(obs, error_rate=0.4, error_window=10, unavailable_seconds=300)
    assert verdicts[-1]["level"] == "critical"
    assert verdicts[-1]["reasons"] == ["5 of the last 10 looks had an error answer (over 0.4)"]
    dummy, calm = watch([(t, UP) for t in range(0, 50, 5)], error_rate=0.1, error_window=10)
    assert calm[-1]["level"] == "ok"    # the 503s of switched-off PF features are not errors


def test_another_access_mode_is_named():
    dummy, verdicts = watch([(0, dict(UP, access_mode="founder_beta"))], expect_mode="public_full")
    assert verdicts[0] == {"level": "warn", "reasons": ["the gateway serves access mode founder_beta, not "
                                                        "public_full"],
                           "seen": "/health HTTP 200 12 ms, mode founder_beta, 9 flags, marketplace phase 3", "at": 0}


def test_progress_line():
    g, verdicts = watch([(120, UP)])
    assert g.progress(verdicts[0], ends=843) == ("guard 12:03 left | /health HTTP 200 12 ms, mode public_full, "
                                                 "9 flags, marketplace phase 3 | ok")


@pytest.mark.parametrize("settings, message", [
    ({"unavailable_seconds": -1}, "launch_guard_unavailable_seconds: expected a finite number of 0 or more"),
    ({"unavailable_seconds": float("inf")}, "launch_guard_unavailable_seconds: expected a finite number of 0 or more"),
    ({"error_rate": float("nan")}, "launch_guard_error_rate: expected a finite number of 0 or more"),
    ({"error_rate": 2}, "launch_guard_error_rate: expected a fraction between 0 and 1"),
    ({"error_window": 0}, "launch_guard_error_window: expected a whole number of 1 or more"),
])
def test_bad_settings_name_the_variable(settings, message):
    with pytest.raises(guard.GuardConfigError, match=message):
        guard.config(**settings)


# ---------------------------------------------------------------- the probe

@pytest.fixture
def double(tmp_path):
    repo = sample_repo(tmp_path)
    gw = Double(repo["flag_store"], str(tmp_path / "faults.json"))
    yield gw
    gw.close()


@pytest.mark.usefixtures("module_exits")
def test_the_probe_module_looks_at_everything_once(double):
    out = run_module(gateway_info.main, {"url": double.url})
    obs = out.result["observation"]
    assert not out.failed and out.result["changed"] is False
    assert obs["health"] == 200 and obs["access_mode"] == "founder_beta" and obs["flags"] == 9
    assert obs["marketplace_phase"] == 0 and set(obs["pf"]) == set(gateway.PF_HEALTH_PATHS)
    assert obs["pf"]["marketplace"] == 503


def test_the_probe_of_a_gateway_that_is_gone():
    obs = gateway.Gateway("http://127.0.0.1:9", request_timeout=1).probe()
    assert obs["health"] == 0 and obs["health_text"] == "no answer (connection refused)" and obs["flags"] is None
    assert guard.Guard(guard.config(), 0).observe(obs, 0)["level"] == "warn"


def test_the_guard_keeps_what_each_look_saw_for_the_report():
    g, dummy = watch([(0, UP), (5.04, DOWN)], unavailable_seconds=30)
    assert g.summary()["samples"] == [
        {"t": 0, "available": True, "latency_ms": 12, "mode": "public_full", "level": "ok"},
        {"t": 5.0, "available": False, "latency_ms": 1, "mode": None, "level": "warn"}]


def test_the_samples_kept_are_bounded_to_the_newest():
    g, dummy = watch([(t, UP) for t in range(guard.SAMPLES_KEPT + 10)])
    samples = g.summary()["samples"]
    assert len(samples) == guard.SAMPLES_KEPT and g.summary()["looks"] == guard.SAMPLES_KEPT + 10
    assert samples[0]["t"] == 10 and samples[-1]["t"] == guard.SAMPLES_KEPT + 9
