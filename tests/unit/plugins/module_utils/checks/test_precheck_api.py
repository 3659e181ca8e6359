"""Precheck 8 (api) against a fake host."""

from __future__ import annotations

import json

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import run_checks
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.api import (SAMPLE_TIMEOUT, health_url, median,
                                                                                  reason_of)

from ansible_collections.nexus_cos.launch.tests.unit.utils.fake_host import FakeHost

URL = "http://localhost:4000/health"
OK = (200, '{"status":"ok"}', 12)
REFUSED = (0, "[Errno 111] Connection refused", 1)


FLAGS_URL = "http://localhost:4000/api/feature-flags"
STORE = "/opt/nexus-cos/config/feature-flags.json"
STORE_TEXT = json.dumps({"feature_flags": {"FOUNDER_BETA_MODE": {"enabled": True}, "X": {"enabled": False}}})
SERVED = (200, {"flags": [{"name": "FOUNDER_BETA_MODE", "enabled": True}, {"name": "X", "enabled": False}],
                "currentMode": "founder_beta"}, 5)
NOTHING_SERVED = (200, {"flags": [], "currentMode": "none"}, 5)


class RecordingHost(FakeHost):
    """Counts health requests and the timeout each was given; the gateway
    serves the flag store unless told otherwise."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("files", {STORE: STORE_TEXT})
        super().__init__(*args, **kwargs)
        self.http.setdefault(FLAGS_URL, [SERVED])
        self.requests = []

    def http_get(self, url, timeout=5.0):
        if not url.endswith("/api/feature-flags"):
            self.requests.append((url, timeout))
        return super().http_get(url, timeout)


def api(host, severity="warn", **params):
    base = {"gateway_url": "http://localhost:4000", "health_path": "/health", "timeout": 120.0,
            "retries": 3, "retry_delay": 5.0, "latency_samples": 5, "latency_gate_ms": 200.0,
            "flag_store": STORE}
    return run_checks({"api": {"severity": severity, "params": dict(base, **params)}}, host)[0]


def test_passes_first_time_and_records_latencies():
    host = RecordingHost(http={URL: [OK, (200, "", 10), (200, "", 14), (200, "", 9), (200, "", 30), (200, "", 11)]})
    r = api(host)
    assert r["status"] == "PASS", r
    assert r["msg"] == ("http://localhost:4000/health answered 200 on attempt 1; "
                        "median latency 11 ms over 5 requests (gate 200 ms); "
                        "serves access mode founder_beta with 2 flags")
    assert r["details"]["access_mode"] == "founder_beta" and r["details"]["flags_served"] == 2
    assert r["details"]["latencies_ms"] == [10, 14, 9, 30, 11]
    assert r["details"]["median_ms"] == 11 and r["details"]["max_ms"] == 30
    assert len(host.requests) == 6
    assert host.slept == 0


def test_retries_until_it_answers():
    host = RecordingHost(http={URL: [REFUSED, (503, "starting", 3), OK]})
    r = api(host)
    assert r["status"] == "PASS"
    assert r["details"]["attempts"] == 3
    assert "on attempt 3" in r["msg"]
    assert host.slept == 10.0  # two pauses of retry_delay
    assert len(host.requests) == 3 + 5
    # each attempt gets its share of the budget, each latency sample a short cap
    assert [t for dummy, t in host.requests[:3]] == [40.0, 40.0, 40.0]
    assert all(t == SAMPLE_TIMEOUT for dummy, t in host.requests[3:])


def test_not_answering_names_url_attempts_and_last_reason():
    host = RecordingHost()  # nothing configured: connection refused
    r = api(host)
    assert r["status"] == "WARN"  # severity warn by default
    assert r["msg"] == ("gateway http://localhost:4000/health did not answer 200 after 3 attempts "
                        "(last: connection refused)")
    assert "precheck_api_timeout" in r["hint"] and "precheck_api_retries" in r["hint"]
    assert len(host.requests) == 3 and host.slept == 10.0


def test_error_status_is_reported_as_http_code():
    r = api(RecordingHost(http={URL: [(503, "faulted", 2)]}), severity="error")
    assert r["status"] == "FAIL"
    assert r["msg"] == "gateway http://localhost:4000/health did not answer 200 after 3 attempts (last: HTTP 503)"


def test_retries_are_a_parameter():
    host = RecordingHost()
    r = api(host, retries=1)
    assert r["msg"] == ("gateway http://localhost:4000/health did not answer 200 after 1 attempt "
                        "(last: connection refused)")
    assert host.slept == 0


def test_time_budget_stops_retries():
    # 30 s budget, 3 tries: 10 s each. 10 s timeout + 5 s pause + 10 s timeout + 5 s pause
    # spends the budget before a third try.
    host = RecordingHost(http={URL: [(0, "timed out", 10000)]})
    r = api(host, timeout=30.0, retries=3)
    assert r["msg"] == "gateway http://localhost:4000/health did not answer 200 after 2 attempts (last: timed out)"
    assert [t for dummy, t in host.requests] == [10.0, 10.0]
    assert host.slept == 10.0


def test_last_attempt_gets_only_what_is_left_of_the_budget():
    # 24 s budget: 8 + 2 + 8 + 2 spent, the third try has 4 s left
    host = RecordingHost(http={URL: [(0, "timed out", 8000)]})
    r = api(host, timeout=24.0, retries=3, retry_delay=2.0)
    assert [t for dummy, t in host.requests] == [8.0, 8.0, 4.0]
    assert r["details"]["attempts"] == 3


def test_median_latency_above_gate():
    host = RecordingHost(http={URL: [OK, (200, "", 390), (200, "", 412), (200, "", 450), (200, "", 120),
                                     (200, "", 500)]})
    r = api(host)
    assert r["status"] == "WARN"
    assert r["msg"] == "gateway /health median latency 412 ms over 5 requests is above the 200 ms launch gate"
    assert "precheck_api_latency_gate_ms" in r["hint"]
    assert r["details"]["latencies_ms"] == [390, 412, 450, 120, 500]


def test_latency_equal_to_gate_passes_and_gate_is_a_parameter():
    host = RecordingHost(http={URL: [OK, (200, "", 200)]})
    assert api(host)["status"] == "PASS"
    host = RecordingHost(http={URL: [OK, (200, "", 200)]})
    r = api(host, latency_gate_ms=150.5, severity="error")
    assert r["status"] == "FAIL"
    assert r["msg"] == "gateway /health median latency 200 ms over 5 requests is above the 150.5 ms launch gate"


def test_failing_latency_sample():
    host = RecordingHost(http={URL: [OK, (200, "", 10), (502, "", 3), (200, "", 10), REFUSED]})
    r = api(host)
    assert r["msg"] == ("gateway /health answered 200, then failed 3 of 5 latency requests (last: connection refused); "
                        "expected every request to answer 200")
    assert r["details"]["failed_samples"] == ["HTTP 502", "connection refused", "connection refused"]


def test_no_latency_samples():
    host = RecordingHost(http={URL: [OK]})
    r = api(host, latency_samples=0)
    assert r["status"] == "PASS"
    assert r["msg"] == ("http://localhost:4000/health answered 200 on attempt 1; latency not sampled; "
                        "serves access mode founder_beta with 2 flags")
    assert len(host.requests) == 1


def test_health_path_and_trailing_slash():
    host = RecordingHost(http={"http://gw:4000/api/status": [OK], "http://gw:4000/api/feature-flags": [SERVED]})
    r = api(host, gateway_url="http://gw:4000/", health_path="api/status", latency_samples=1)
    assert r["status"] == "PASS", r
    assert host.requests[0][0] == "http://gw:4000/api/status"


def test_helpers():
    assert health_url("http://a:1/", "/health") == "http://a:1/health"
    assert reason_of(0, "[Errno 111] Connection refused") == "connection refused"
    assert reason_of(0, "timed out") == "timed out"
    assert reason_of(0, "") == "no answer"
    assert reason_of(404, "x") == "HTTP 404"
    assert median([5, 1, 3]) == 3
    assert median([1, 2, 3, 4]) == 2.5


def test_a_gateway_that_serves_no_flags_is_named_with_the_fix():
    # The platform's flag service after a reload of a file it could not
    # parse: /health 200, no flags, currentMode none.
    host = RecordingHost(http={URL: [OK, (200, "", 10)], FLAGS_URL: [NOTHING_SERVED]})
    r = api(host, severity="error")
    assert r["status"] == "FAIL"
    assert r["msg"] == ("gateway serves no flags at all (currentMode none) while %s holds 2: the platform's flag "
                        "service does this after a reload of a flag store it could not parse, and still answers "
                        "/health" % STORE)
    assert r["hint"].startswith("the file parses now (precheck 7 says so), so the gateway read it while it was "
                                "broken: reload it with curl -X POST http://localhost:4000/api/feature-flags/reload")
    assert r["details"]["flags_served"] == 0 and r["details"]["flags_in_store"] == 2


def test_no_flags_served_from_an_unreadable_store_is_left_to_precheck_7():
    host = RecordingHost(files={STORE: "{not json"}, http={URL: [OK, (200, "", 10)], FLAGS_URL: [NOTHING_SERVED]})
    r = api(host)
    assert r["status"] == "PASS" and r["msg"].endswith("serves access mode none with 0 flags")


@pytest.mark.parametrize("answer, found", [
    ((0, "connection refused", 1), "connection refused"),
    ((404, None, 2), "HTTP 404"),
    ((200, {"status": "ok"}, 2), "HTTP 200 without a flags list"),
])
def test_a_gateway_without_the_flag_routes(answer, found):
    host = RecordingHost(http={URL: [OK, (200, "", 10)], FLAGS_URL: [answer]})
    r = api(host)
    assert r["status"] == "WARN"
    assert r["msg"] == ("gateway answers its health endpoint, but /api/feature-flags answered %s; expected 200 with "
                        "{flags, currentMode} (the platform's flag service)" % found)
