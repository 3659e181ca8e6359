# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""DESIGN.md section 3, PUT /api/feature-flags/NAME {enabled}: the gateway's
own flag write, its refusals, and the file it writes.  Each test sets up the
store it needs through the flag_store fixture, which puts the original back."""

from __future__ import annotations

import datetime
import json
import re

from gateway_client import UNKNOWN_FLAG, flag, store

UPDATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def test_enabling_a_flag_answers_success_and_takes_effect(gateway, flag_store):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE",)))
    reply = gateway.put_json("/api/feature-flags/MARKETPLACE_PHASE2_ENABLED", {"enabled": True})
    assert reply.status == 200
    assert reply.json == {"success": True, "flag": "MARKETPLACE_PHASE2_ENABLED", "enabled": True}
    assert gateway.get("/api/feature-flags/MARKETPLACE_PHASE2_ENABLED/enabled").json["enabled"] is True
    assert gateway.get("/api/pf/marketplace/health").json["phase"] == 2


def test_unknown_flag_is_refused_with_400(gateway, flag_store):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE",)))
    before = flag_store.read_bytes()
    reply = gateway.put_json("/api/feature-flags/" + UNKNOWN_FLAG, {"enabled": True})
    assert reply.status == 400
    assert reply.json == {"error": "Flag %s does not exist" % UNKNOWN_FLAG}
    assert flag_store.read_bytes() == before


def test_enabling_with_unmet_requires_is_refused_with_400(gateway, flag_store):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE",)))
    before = flag_store.read_bytes()
    reply = gateway.put_json("/api/feature-flags/MARKETPLACE_PHASE3_ENABLED", {"enabled": True})
    assert reply.status == 400
    assert reply.json == {"error": "Cannot enable MARKETPLACE_PHASE3_ENABLED: MARKETPLACE_PHASE2_ENABLED must be "
                                   "enabled first"}
    assert flag_store.read_bytes() == before, "a refused PUT must not touch the file"
    assert gateway.get("/api/feature-flags/MARKETPLACE_PHASE3_ENABLED").json["enabled"] is False


def test_requires_are_checked_effectively_not_by_their_own_enabled(gateway, flag_store):
    # PHASE2 requires JURISDICTION (off): PHASE2's own enabled is true, yet it is not effectively on.
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE", "MARKETPLACE_PHASE2_ENABLED"),
                          requires={"MARKETPLACE_PHASE2_ENABLED": ["JURISDICTION_ENGINE_ENABLED"]}))
    reply = gateway.put_json("/api/feature-flags/MARKETPLACE_PHASE3_ENABLED", {"enabled": True})
    assert (reply.status, reply.json) == (400, {
        "error": "Cannot enable MARKETPLACE_PHASE3_ENABLED: MARKETPLACE_PHASE2_ENABLED must be enabled first"})


def test_enabling_once_requires_are_on_is_accepted(gateway, flag_store):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE", "MARKETPLACE_PHASE2_ENABLED")))
    reply = gateway.put_json("/api/feature-flags/MARKETPLACE_PHASE3_ENABLED", {"enabled": True})
    assert reply.status == 200
    health = gateway.get("/api/pf/marketplace/health")
    assert (health.status, health.json["phase"]) == (200, 3)


def test_disabling_a_flag_others_require_is_not_refused(gateway, flag_store):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE", "MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED")))
    reply = gateway.put_json("/api/feature-flags/MARKETPLACE_PHASE2_ENABLED", {"enabled": False})
    assert (reply.status, reply.json) == (200, {"success": True, "flag": "MARKETPLACE_PHASE2_ENABLED",
                                                "enabled": False})
    # PHASE3 keeps enabled: true in the store but is no longer effectively on.
    assert gateway.get("/api/feature-flags/MARKETPLACE_PHASE3_ENABLED").json["enabled"] is True
    assert gateway.get("/api/feature-flags/MARKETPLACE_PHASE3_ENABLED/enabled").json["enabled"] is False
    health = gateway.get("/api/pf/marketplace/health")
    assert (health.status, health.json["phase"]) == (503, 0)


def test_the_whole_file_is_rewritten_in_the_gateways_format(gateway, flag_store):
    document = store(enabled=("FOUNDER_BETA_MODE",))
    document["version"] = "0.9.0"
    document["updated"] = "2024-12-31T23:59:59Z"
    document["notes"] = "top-level keys other than the four are dropped"
    document["feature_flags"]["AI_DEALERS_ENABLED"]["owner"] = "ops, caf\u00e9 team"
    flag_store.load(document)
    started = datetime.datetime.now(datetime.timezone.utc)
    assert gateway.put_json("/api/feature-flags/AI_DEALERS_ENABLED", {"enabled": True}).status == 200
    text = flag_store.read_bytes().decode("utf-8")
    written = json.loads(text)
    assert list(written) == ["version", "updated", "feature_flags", "access_modes"]
    assert written["version"] == "1.0.0"
    assert UPDATED.fullmatch(written["updated"]), written["updated"]
    stamp = datetime.datetime.strptime(written["updated"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    assert abs((stamp - started).total_seconds()) < 60
    expected_flags = document["feature_flags"]
    expected_flags["AI_DEALERS_ENABLED"]["enabled"] = True
    assert written["feature_flags"] == expected_flags
    assert list(written["feature_flags"]) == list(expected_flags)
    assert written["access_modes"] == document["access_modes"]
    # JSON.stringify(config, null, 2): two-space indent, UTF-8 as is, no final newline.
    assert text == json.dumps(written, indent=2, ensure_ascii=False)
    assert not text.endswith("\n")


def test_a_put_that_changes_nothing_still_rewrites_the_file(gateway, flag_store):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE",)))
    before = flag_store.read_bytes()
    reply = gateway.put_json("/api/feature-flags/FOUNDER_BETA_MODE", {"enabled": True})
    assert reply.json == {"success": True, "flag": "FOUNDER_BETA_MODE", "enabled": True}
    after = flag_store.read_bytes()
    assert after != before and not after.endswith(b"\n")
    assert json.loads(after)["feature_flags"] == json.loads(before)["feature_flags"]


def test_enabled_is_stored_as_given_and_only_true_counts(gateway, flag_store):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE",)))
    reply = gateway.put_json("/api/feature-flags/AI_DEALERS_ENABLED", {"enabled": "yes"})
    assert reply.status == 200
    assert reply.json == {"success": True, "flag": "AI_DEALERS_ENABLED", "enabled": "yes"}
    assert json.loads(flag_store.read_bytes())["feature_flags"]["AI_DEALERS_ENABLED"]["enabled"] == "yes"
    assert gateway.get("/api/feature-flags/AI_DEALERS_ENABLED").json["enabled"] == "yes"
    assert gateway.get("/api/feature-flags/AI_DEALERS_ENABLED/enabled").json["enabled"] is False
    assert gateway.get("/api/pf/ai-dealers/health").status == 503


def test_a_change_is_served_at_once_without_a_reload(gateway, flag_store):
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE",)))
    gateway.put_json("/api/feature-flags/PUBLIC_FULL_LAUNCH_MODE", {"enabled": True})
    assert gateway.get("/api/feature-flags").json["currentMode"] == "public_full"


def test_a_requires_cycle_met_while_enabling_is_a_400(gateway, flag_store):
    # The platform's isEnabled recurses until the stack runs out; PUT catches that error.
    extra = {"CYCLE_A": flag(True, ["CYCLE_B"]), "CYCLE_B": flag(True, ["CYCLE_A"]),
             "NEEDS_CYCLE": flag(False, ["CYCLE_A"])}
    flag_store.load(store(enabled=("FOUNDER_BETA_MODE",), extra_flags=extra))
    reply = gateway.put_json("/api/feature-flags/NEEDS_CYCLE", {"enabled": True})
    assert (reply.status, reply.json) == (400, {"error": "Maximum call stack size exceeded"})
