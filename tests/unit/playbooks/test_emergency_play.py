"""playbooks/emergency.yml for real on a fleet of this machine: testhost,
the flag store host, and gw2, whose gateway reads the same flag store. After
the switch every listed gateway rereads the store and must serve founder
mode; one that does not is named, and the switch stays applied."""

from __future__ import annotations

import json

import pytest

from ansible_collections.nexus_cos.launch.tests.unit.utils.play_target import Target, item_failed

FLEET = ("-e", json.dumps({"activation_verify_gateway_hosts": ["testhost", "gw2"]}),
         "-e", "emergency_switch_reason=fraud wave")
FLEET_TASK = "Make the fleet's other gateways reread the flag store"
FAIL_TASK = "Fail the run with what was written and what the gateways served"


@pytest.fixture
def target(tmp_path):
    t = Target(tmp_path, fleet=["gw2"])
    # The platform launched publicly first, every gateway serving it: the
    # switch must bring it back.
    t.double.enable("PUBLIC_FULL_LAUNCH_MODE", "JURISDICTION_ENGINE_ENABLED", "MARKETPLACE_PHASE2_ENABLED",
                    "MARKETPLACE_PHASE3_ENABLED")
    t.double.enable("FOUNDER_BETA_MODE", value=False)
    for double in [t.double] + list(t.doubles.values()):
        double.reload()
    yield t
    t.close()


def flags(target):
    with open(target.flag_store) as handle:
        return dict((n, f["enabled"]) for n, f in json.load(handle)["feature_flags"].items())


def fleet_records(target):
    return [fields for event, fields in target.events() if event == "EMERGENCY_SWITCH_FLEET"]


def test_every_listed_gateway_rereads_the_store_and_serves_founder_mode(target):
    rc, tasks = target.play("emergency.yml", *FLEET)
    assert rc == 0, tasks.get(FAIL_TASK)
    [gw2] = tasks[FLEET_TASK]["results"]
    assert gw2["item"] == "gw2" and not item_failed(gw2)
    assert gw2["seen"]["access_mode"] == "founder_beta"
    assert "other gateways of the fleet: confirmed: gw2" in tasks["Say what the switch did"]["msg"]
    [record] = fleet_records(target)
    assert (record["confirmed"], record["not_confirmed"], record["problem"]) == ("gw2", "", "")


def test_a_gateway_that_does_not_reread_is_named_and_the_switch_stays(target):
    target.doubles["gw2"].fault(stale_reload=True)
    rc, tasks = target.play("emergency.yml", *FLEET + ("-e", "emergency_switch_verify_timeout=1"))
    assert rc == 2
    msg = tasks[FAIL_TASK]["msg"]
    assert msg.startswith("emergency switch APPLIED and KEPT, but in the fleet these gateways do not serve founder "
                          "mode after rereading the flag store: gw2: gateway %s did not confirm access mode "
                          "founder_beta, " % target.doubles["gw2"].url)
    assert "it serves access mode public_full" in msg
    assert msg.endswith(". It is not undone. Once they are fixed, pull it again (it changes nothing and makes every "
                        "listed gateway reread the store): nexusctl rollback --emergency")
    # Only the fleet failed: the flag store host's own gateway confirmed it.
    assert tasks["Pull the kill switch"]["confirmed"] is True
    assert flags(target)["FOUNDER_BETA_MODE"] and not flags(target)["PUBLIC_FULL_LAUNCH_MODE"]
    assert "other gateways of the fleet: NOT confirmed: gw2" in tasks["Say what the switch did"]["msg"]
    [record] = fleet_records(target)
    assert (record["confirmed"], record["not_confirmed"]) == ("", "gw2")
    assert record["problem"].startswith("gw2: gateway %s did not confirm" % target.doubles["gw2"].url)

    # Fixed, the switch pulled again changes nothing and gw2 now confirms.
    target.doubles["gw2"].fault()
    before = target.bytes()
    rc, tasks = target.play("emergency.yml", *FLEET)
    assert rc == 0, tasks.get(FAIL_TASK)
    assert tasks["Pull the kill switch"]["changed"] is False and target.bytes() == before
    assert not item_failed(tasks[FLEET_TASK]["results"][0])
    assert fleet_records(target)[-1]["confirmed"] == "gw2"


def test_one_vps_asks_no_other_gateway(target):
    rc, tasks = target.play("emergency.yml", "-e", "emergency_switch_reason=fraud wave")
    assert rc == 0, tasks.get(FAIL_TASK)
    assert tasks[FLEET_TASK].get("skipped") is True
    assert fleet_records(target) == []
    assert not [line for line in tasks["Say what the switch did"]["msg"] if "fleet" in line]


def test_the_switch_the_guard_pulls_is_held_to_every_listed_gateway(target):
    target.double.fault(health_status=500)       # the flag store host's platform fails
    target.doubles["gw2"].fault(stale_reload=True)
    rc, tasks = target.play("guard.yml", FLEET[0], FLEET[1], "-e", "launch_guard_minutes=0.2",
                            "-e", "launch_guard_interval=0.5", "-e", "launch_guard_unavailable_seconds=0",
                            "-e", "launch_guard_verify_timeout=1")
    assert rc == 2
    guard = tasks["Say what the guard saw"]["msg"]
    assert [line for line in guard if line.startswith("launch guard: emergency switch pulled and confirmed")]
    assert flags(target)["FOUNDER_BETA_MODE"] and not flags(target)["PUBLIC_FULL_LAUNCH_MODE"]
    [gw2] = tasks[FLEET_TASK]["results"]
    assert gw2["item"] == "gw2" and item_failed(gw2)
    msg = tasks["Fail the run when the guard saw a critical breach"]["msg"]
    assert msg.startswith("launch guard: critical breach after ")
    assert ("\nin the fleet these gateways do not serve founder mode after rereading the flag store: gw2: gateway "
            "%s did not confirm" % target.doubles["gw2"].url) in msg
    assert msg.endswith(". The switch stays applied; once they are fixed: nexusctl rollback --emergency")
    [record] = fleet_records(target)
    assert record["not_confirmed"] == "gw2"


def test_a_listed_gateway_host_that_cannot_be_reached_is_named_and_the_others_still_asked(target):
    fleet = ("-e", json.dumps({"activation_verify_gateway_hosts": ["testhost", "gone.invalid", "gw2"]}),
             "-e", "emergency_switch_reason=fraud wave", "-e", "ansible_ssh_timeout=2")
    rc, tasks = target.play("emergency.yml", *fleet)
    assert rc == 2
    msg = tasks[FAIL_TASK]["msg"]
    assert msg.startswith("emergency switch APPLIED and KEPT, but in the fleet these gateways do not serve founder "
                          "mode after rereading the flag store: gone.invalid: ")
    assert "gw2" not in msg.split(". It is not undone")[0]
    assert "other gateways of the fleet: confirmed: gw2; NOT confirmed: gone.invalid" in tasks["Say what the switch did"]["msg"]
    [record] = fleet_records(target)
    assert (record["confirmed"], record["not_confirmed"]) == ("gw2", "gone.invalid")
