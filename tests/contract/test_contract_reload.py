# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""DESIGN.md section 3, POST /api/feature-flags/reload: the hot reload, what
the gateway serves after it (including after a file that does not parse),
that it does not check requires, and the access mode and health answers
for the states a reload can bring."""

from __future__ import annotations

import pytest

from gateway_client import (
    FLAG_NAMES,
    MARKETPLACE_HEALTH,
    OVERLAY_HEALTH,
    RELOAD,
    RELOADED,
    flag,
    store,
    store_text,
)

ALL_HEALTH = [MARKETPLACE_HEALTH] + sorted(OVERLAY_HEALTH)


def assert_serves_no_flags(gateway):
    """What the platform serves once its load failed: nothing at all."""
    assert gateway.get("/api/feature-flags").json == {"flags": [], "currentMode": "none"}
    for name in FLAG_NAMES:
        assert gateway.get("/api/feature-flags/" + name).status == 404
        assert gateway.get("/api/feature-flags/%s/enabled" % name).json == {"name": name, "enabled": False}
    for path in ALL_HEALTH:
        reply = gateway.get(path)
        assert reply.status == 503, path
        assert reply.json["status"] == "disabled"
    assert gateway.get(MARKETPLACE_HEALTH).json["phase"] == 0
    reply = gateway.put_json("/api/feature-flags/FOUNDER_BETA_MODE", {"enabled": True})
    assert (reply.status, reply.json) == (400, {"error": "Flag FOUNDER_BETA_MODE does not exist"})
    assert gateway.get("/health").json == {"status": "ok"}


def test_reload_answers_success_and_rereads_the_file(gateway, flag_store):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE",)))
    assert gateway.get(MARKETPLACE_HEALTH).status == 503
    flag_store.write(store(enabled=("FOUNDER_BETA_MODE", "MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED")))
    assert gateway.get(MARKETPLACE_HEALTH).status == 503, "the file is read on reload only"
    reply = gateway.reload()
    assert reply.status == 200
    assert reply.json == RELOADED
    health = gateway.get(MARKETPLACE_HEALTH)
    assert (health.status, health.json) == (200, {"service": "marketplace", "status": "active", "phase": 3,
                                                  "overlay": True})


def test_reload_ignores_its_body_and_query(gateway, flag_store):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE",)))
    reply = gateway.request("POST", RELOAD + "?force=1", body=b'{"flags": "ignored"}',
                            headers={"Content-Type": "application/json"})
    assert (reply.status, reply.json) == (200, RELOADED)


@pytest.mark.parametrize("content", [
    pytest.param(store_text(store(enabled=("FOUNDER_BETA_MODE",)))[:-40], id="truncated"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\xef\xbb\xbf" + store_text(store(enabled=("FOUNDER_BETA_MODE",))), id="utf8-bom"),
    pytest.param(store_text(store(enabled=("FOUNDER_BETA_MODE",))).replace(b'"enabled": true', b'"enabled": True'),
                 id="python-literal"),
])
def test_a_file_that_does_not_parse_leaves_no_flags_at_all(gateway, flag_store, content):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE", "MARKETPLACE_PHASE2_ENABLED", "JURISDICTION_ENGINE_ENABLED")))
    flag_store.write(content)
    reply = gateway.reload()
    assert (reply.status, reply.json) == (200, RELOADED), "a bad file is not an error for the reload"
    assert_serves_no_flags(gateway)
    assert flag_store.read_bytes() == content, "the gateway must not rewrite a file it could not read"


@pytest.mark.parametrize("document", [
    pytest.param({"version": "1.0.0", "flags": {"FOUNDER_BETA_MODE": flag(True)}}, id="no-feature_flags"),
    pytest.param({"version": "1.0.0", "feature_flags": None}, id="feature_flags-null"),
    pytest.param({}, id="empty-object"),
])
def test_a_store_without_feature_flags_serves_no_flags(gateway, flag_store, document):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE",)))
    flag_store.load(document)
    assert_serves_no_flags(gateway)


def test_the_next_good_file_brings_the_flags_back(gateway, flag_store):
    flag_store.load(b"{not json")
    assert gateway.get("/api/feature-flags").json["flags"] == []
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE",)))
    assert gateway.get("/api/feature-flags").json["currentMode"] == "founder_beta"


def test_reload_does_not_check_requires(gateway, flag_store):
    # PHASE3 on with PHASE2 off: a PUT would refuse this, the reload takes it as it is.
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE", "MARKETPLACE_PHASE3_ENABLED")))
    raw = gateway.get("/api/feature-flags/MARKETPLACE_PHASE3_ENABLED")
    assert (raw.status, raw.json["enabled"]) == (200, True)
    assert gateway.get("/api/feature-flags/MARKETPLACE_PHASE3_ENABLED/enabled").json["enabled"] is False
    health = gateway.get(MARKETPLACE_HEALTH)
    assert (health.status, health.json["phase"]) == (503, 0)


def test_a_requirement_on_a_flag_the_store_lacks_is_never_met(gateway, flag_store):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE", "JURISDICTION_ENGINE_ENABLED"),
                          requires={"JURISDICTION_ENGINE_ENABLED": ["KYC_PROVIDER_ENABLED"]}))
    assert gateway.get("/api/feature-flags/JURISDICTION_ENGINE_ENABLED/enabled").json["enabled"] is False
    assert gateway.get("/api/pf/jurisdiction/health").status == 503


@pytest.mark.parametrize(("enabled", "requires", "mode"), [
    ((), {}, "none"),
    (("FOUNDER_BETA_MODE",), {}, "founder_beta"),
    (("FOUNDER_BETA_MODE", "PUBLIC_SOFT_LAUNCH_MODE"), {}, "public_soft"),
    (("FOUNDER_BETA_MODE", "PUBLIC_SOFT_LAUNCH_MODE", "PUBLIC_FULL_LAUNCH_MODE"), {}, "public_full"),
    (("PUBLIC_FULL_LAUNCH_MODE",), {}, "public_full"),
    (("FOUNDER_BETA_MODE", "PUBLIC_FULL_LAUNCH_MODE"), {"PUBLIC_FULL_LAUNCH_MODE": ["JURISDICTION_ENGINE_ENABLED"]},
     "founder_beta"),
])
def test_current_mode_after_a_reload(gateway, flag_store, enabled, requires, mode):
    flag_store.load(store(enabled=enabled, requires=requires))
    assert gateway.get("/api/feature-flags").json["currentMode"] == mode


@pytest.mark.parametrize(("enabled", "status", "phase"), [
    ((), 503, 0),
    (("MARKETPLACE_PHASE2_ENABLED",), 200, 2),
    (("MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED"), 200, 3),
])
def test_marketplace_phase_after_a_reload(gateway, flag_store, enabled, status, phase):
    flag_store.load(store(enabled=enabled))
    reply = gateway.get(MARKETPLACE_HEALTH)
    assert (reply.status, reply.json) == (status, {
        "service": "marketplace", "status": "active" if status == 200 else "disabled", "phase": phase,
        "overlay": True})


@pytest.mark.parametrize("path", sorted(OVERLAY_HEALTH))
def test_overlay_health_turns_on_and_off_with_its_flag(gateway, flag_store, path):
    service, flag_name = OVERLAY_HEALTH[path]
    flag_store.load(store(enabled=(flag_name,)))
    assert (gateway.get(path).status, gateway.get(path).json) == (
        200, {"service": service, "status": "active", "overlay": True})
    flag_store.load(store())
    assert (gateway.get(path).status, gateway.get(path).json) == (
        503, {"service": service, "status": "disabled", "overlay": True})


def test_enabled_must_be_the_boolean_true(gateway, flag_store):
    document = store(enabled=("FOUNDER_BETA_MODE",))
    document["feature_flags"]["AI_DEALERS_ENABLED"]["enabled"] = "true"
    document["feature_flags"]["CREATOR_MONETIZATION_ENABLED"]["enabled"] = 1
    flag_store.load(document)
    assert gateway.get("/api/feature-flags/AI_DEALERS_ENABLED").json["enabled"] == "true"
    assert gateway.get("/api/pf/ai-dealers/health").status == 503
    assert gateway.get("/api/pf/creator/health").status == 503


def test_a_requires_cycle_makes_the_evaluating_request_a_500(gateway, flag_store):
    # Evaluating a flag on the cycle recurses until the stack runs out: Express's error page.
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE", "MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED"),
                          requires={"MARKETPLACE_PHASE2_ENABLED": ["MARKETPLACE_PHASE3_ENABLED"]}))
    for path in ("/api/feature-flags/MARKETPLACE_PHASE2_ENABLED/enabled", MARKETPLACE_HEALTH):
        reply = gateway.get(path)
        assert reply.status == 500, path
        assert reply.content_type.startswith("text/html")
        assert reply.body.startswith(b"<!DOCTYPE html>")
        # NODE_ENV=production shows the status text, development the RangeError's stack.
        assert (b"<pre>Internal Server Error</pre>" in reply.body
                or b"<pre>RangeError: Maximum call stack size exceeded<br>" in reply.body), reply.body[:300]
    # Flags off the cycle, and reads that evaluate nothing, still answer.
    assert gateway.get("/api/feature-flags").json["currentMode"] == "founder_beta"
    assert gateway.get("/api/feature-flags/MARKETPLACE_PHASE2_ENABLED").status == 200
    assert gateway.get("/api/pf/jurisdiction/health").status == 503


def test_the_reload_never_writes_the_file(gateway, flag_store):
    content = store_text(store(enabled=("FOUNDER_BETA_MODE",))).replace(b'"version": "1.0.0"', b'"version": "7"')
    flag_store.load(content)
    assert gateway.get("/api/feature-flags").json["currentMode"] == "founder_beta"
    assert flag_store.read_bytes() == content
