"""playbooks/marketplace.yml for real, on this machine (a local
connection, the host's paths under the test's directory, the gateway double
in-process): an activation is done only when applied, confirmed and
recorded, so a record step that fails rolls the change back."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import activation

from play_target import Target


@pytest.fixture
def target(tmp_path):
    t = Target(tmp_path)
    yield t
    t.close()


STEP_1 = ("-e", "marketplace_step_number=1", "-e", "activation_force_reason=no prepare run on this test bed")


def test_a_record_step_that_fails_rolls_the_change_back(target):
    before = target.bytes()
    # The state file's lock cannot be created: the record step fails after
    # the gateway confirmed the change.
    os.makedirs(os.path.join(target.audit_dir, activation.STATE_FILE + ".lock"))
    rc, tasks = target.play("marketplace.yml", *STEP_1)
    assert rc == 2
    assert tasks["Reload the gateway and wait until it reports the new state"]["changed"] is False
    assert tasks["Record the activation for the next gates"]["failed"]
    assert target.bytes() == before
    msg = tasks["Fail the run with what was expected and what was seen"]["msg"]
    assert msg.startswith("marketplace step 1 failed and was rolled back to snapshot %s/backups/" % target.host)
    assert "recording marketplace_step_1 in %s/%s: " % (target.audit_dir, activation.STATE_FILE) in msg
    events = [event for event, dummy in target.events()]
    assert "FLAGS_CHANGED" in events and "ACTIVATION_ROLLED_BACK" in events
    assert "ACTIVATION_STEP_APPLIED" not in events
    assert not os.path.exists(target.host / "deploy.lock")
    # The gateway was made to serve the state before again.
    verify = tasks["Roll the change back to the snapshot"]["verify"]
    assert (verify["access_mode"], verify["marketplace_phase"]) == ("founder_beta", 0)


def test_a_confirmed_and_recorded_step_stays(target):
    rc, tasks = target.play("marketplace.yml", *STEP_1)
    assert rc == 0, tasks
    with open(os.path.join(target.audit_dir, activation.STATE_FILE)) as handle:
        [entry] = json.load(handle)["activations"]
    assert entry["key"] == "marketplace_step_1" and isinstance(entry["recorded_epoch"], float)
    assert tasks["Say what changed"]["msg"][0] == "marketplace step 1: applied and confirmed by the gateway"


def test_in_a_fleet_a_gateway_that_does_not_confirm_rolls_the_change_back_on_every_gateway(tmp_path):
    # gw2 confirms the change; gw3 answers reloads without rereading.
    target = Target(tmp_path, fleet=["gw2", "gw3"])
    try:
        target.doubles["gw3"].fault(stale_reload=True)
        before = target.bytes()
        rc, tasks = target.play("marketplace.yml", *STEP_1 + (
            "-e", json.dumps({"activation_verify_gateway_hosts": ["testhost", "gw2", "gw3"]}),
            "-e", "activation_verify_timeout=1"))
        assert rc == 2
        assert target.bytes() == before
        msg = tasks["Fail the run with what was expected and what was seen"]["msg"]
        assert msg.startswith("marketplace step 1 failed and was rolled back to snapshot %s/backups/" % target.host)
        assert (": gw3: gateway %s did not confirm access mode founder_beta, marketplace phase 3"
                % target.doubles["gw3"].url) in msg
        assert "after the rollback" not in msg
        # gw2 had confirmed the change: it was made to reread the restored store.
        reread = tasks["Make the fleet's other gateways reread the flag store"]["results"]
        assert [(r["item"], bool(r.get("failed"))) for r in reread] == [("gw2", False), ("gw3", False)]
        assert reread[0]["seen"]["marketplace_phase"] == 0
    finally:
        target.close()
