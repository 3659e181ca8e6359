"""Module gateway_verify against the sandbox's gateway double, run
in-process on a loopback port: a reload that is confirmed, one that never is
(the double's stale_reload knob), a refused reload and no gateway at all."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.modules import gateway_verify

from ansible_collections.nexus_cos.launch.tests.unit.utils.gateway_double import Double, sample_repo
from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import run_module

pytestmark = pytest.mark.usefixtures("module_exits")


@pytest.fixture
def gateway(tmp_path):
    repo = sample_repo(tmp_path)
    double = Double(repo["flag_store"], str(tmp_path / "faults.json"))
    yield double
    double.close()


def verify(url, expect, timeout=2.0, check=False):
    args = {"url": url, "expect": expect, "timeout": timeout, "interval": 0.05}
    if check:
        args["_ansible_check_mode"] = True
    outcome = run_module(gateway_verify.main, args)
    return not outcome.failed, outcome.result


def test_reload_then_confirm(gateway):
    gateway.enable("MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED")
    ok, result = verify(gateway.url, {"marketplace_phase": 3, "access_mode": "founder_beta", "jurisdiction": False})
    assert ok, result
    assert result["changed"] is False and result["reload"] == "HTTP 200"
    assert result["seen"]["marketplace_phase"] == 3 and result["seen"]["access_mode"] == "founder_beta"


def test_a_gateway_that_never_rereads_the_flags(gateway):
    gateway.fault(stale_reload=True)
    gateway.enable("MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED")
    ok, result = verify(gateway.url, {"marketplace_phase": 3, "access_mode": "founder_beta"}, timeout=0.5)
    assert not ok
    assert result["msg"] == ("gateway %s did not confirm access mode founder_beta, marketplace phase 3 within 0.5 s: "
                             "reload HTTP 200; it serves access mode founder_beta, 9 flags (HTTP 200), marketplace "
                             "phase 0 (HTTP 503)" % gateway.url)
    assert result["attempts"] > 1


def test_a_refused_reload_is_retried_then_reported(gateway):
    gateway.fault(reload_status=500)
    ok, result = verify(gateway.url, {"access_mode": "founder_beta"}, timeout=0.3)
    assert not ok
    assert result["msg"].endswith("did not confirm access mode founder_beta within 0.3 s: the reload was not "
                                  "accepted (HTTP 500)")


def test_no_gateway_at_all():
    ok, result = verify("http://127.0.0.1:9", {"access_mode": "public_full"}, timeout=0.2)
    assert not ok and "the reload was not accepted (no answer (connection refused)). Nothing answers at the " \
                      "gateway's address" in result["msg"]


def test_check_mode_contacts_nothing():
    ok, result = verify("http://127.0.0.1:9", {"access_mode": "public_full"}, check=True)
    assert ok and result["reload"] == "not sent (check mode)"


def test_unknown_expectation_is_refused(gateway):
    ok, result = verify(gateway.url, {"mode": "public_full"})
    assert not ok and result["msg"].startswith("expect: unknown key mode")
