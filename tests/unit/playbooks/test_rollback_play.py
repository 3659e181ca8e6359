"""playbooks/rollback.yml for real on a fleet of this machine: testhost, the
flag store host, and gw2, whose gateway reads the same flag store. The
rollback restores the shared store once, on the flag store host, and every
other listed gateway then rereads it and must serve it."""

from __future__ import annotations

import json

import pytest

from ansible_collections.nexus_cos.launch.tests.unit.utils.play_target import STEP_1, Target, item_failed

FLEET = ("-e", json.dumps({"activation_verify_gateway_hosts": ["testhost", "gw2"]}))
REREAD_TASK = "Make the fleet's other gateways reread the flag store"
FAIL_TASK = "Fail the run when a gateway of the fleet does not serve the restored flag store"


@pytest.fixture
def target(tmp_path):
    t = Target(tmp_path, fleet=["gw2"])
    yield t
    t.close()


def step_1(target):
    """Marketplace step 1 applied and confirmed by both gateways; the bytes before it and its stamp."""
    before = target.bytes()
    rc, tasks = target.play("marketplace.yml", *STEP_1 + FLEET)
    assert rc == 0, tasks
    return before, tasks["Set the run id and UTC stamp"]["ansible_facts"]["nexus_run_stamp"]


def events(target, name):
    return [fields for event, fields in target.events() if event == name]


def test_the_flag_store_host_restores_once_and_every_gateway_serves_it(target):
    before, stamp = step_1(target)
    rc, tasks = target.play("rollback.yml", "-e", "rollback_run=" + stamp, *FLEET)
    assert rc == 0, tasks.get(FAIL_TASK)
    assert target.bytes() == before
    assert len(events(target, "ROLLBACK_COMPLETE")) == 1          # gw2 restored nothing
    [gw2] = tasks[REREAD_TASK]["results"]
    assert gw2["item"] == "gw2" and not item_failed(gw2) and gw2["seen"]["marketplace_phase"] == 0
    assert "other gateways of the fleet: confirmed: gw2" in tasks["Say what the rollback did"]["msg"]


def test_a_gateway_that_does_not_reread_is_named_and_the_rollback_run_again_finishes(target):
    before, stamp = step_1(target)
    target.doubles["gw2"].fault(stale_reload=True)
    rc, tasks = target.play("rollback.yml", "-e", "rollback_run=" + stamp, "-e", "rollback_verify_timeout=1", *FLEET)
    assert rc == 2
    assert target.bytes() == before       # the store is restored; gw2 is behind
    msg = tasks[FAIL_TASK]["msg"]
    assert msg.startswith("testhost is back at snapshot %s/backups/%s and its gateway serves it, but in the fleet "
                          "these gateways do not after rereading the flag store: gw2: gateway %s did not confirm "
                          "access mode founder_beta, marketplace phase 0" % (target.host, stamp, target.doubles["gw2"].url))
    assert "marketplace phase 3 (HTTP 200)" in msg
    assert msg.endswith("Once they are fixed, run the rollback again: it restores nothing and asks every gateway again.")
    assert "other gateways of the fleet: NOT confirmed: gw2" in " ".join(tasks["Say what the rollback did"]["msg"])

    target.doubles["gw2"].fault()
    rc, tasks = target.play("rollback.yml", "-e", "rollback_run=" + stamp, *FLEET)
    assert rc == 0, tasks.get(FAIL_TASK)
    assert tasks["Restore the snapshot, reload the gateway and verify it"]["restored"] == []
    assert tasks[REREAD_TASK]["results"][0]["seen"]["marketplace_phase"] == 0


def test_one_vps_asks_no_other_gateway(target):
    before, stamp = step_1(target)
    rc, tasks = target.play("rollback.yml", "-e", "rollback_run=" + stamp)
    assert rc == 0, tasks.get(FAIL_TASK)
    assert target.bytes() == before
    assert tasks[REREAD_TASK].get("skipped") is True
