"""playbooks/marketplace.yml for real, on this machine (a local
connection, the host's paths under the test's directory, the gateway double
in-process): an activation is done only when applied, confirmed and
recorded, so a record step that fails rolls the change back."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import activation, audit_log

from ansible_collections.nexus_cos.launch.tests.unit.utils.play_target import Target, item_failed


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
        assert [(r["item"], item_failed(r)) for r in reread] == [("gw2", False), ("gw3", False)]
        assert reread[0]["seen"]["marketplace_phase"] == 0
    finally:
        target.close()


def _run_id(target):
    """The run id of the (one) activation run in the trail."""
    runs = set(entry.record.run for entry in audit_log.read_trail(target.audit_dir)[0])
    run, = runs
    return run


def _remove_the_lock_when_taken(lock, stop):
    """What the platform's deploy script does to a lock it calls stale:
    removes it, and leaves none."""
    while not stop.is_set():
        try:
            os.unlink(lock)
            return
        except FileNotFoundError:
            time.sleep(0.002)


def test_a_lock_removed_by_another_tool_before_any_write_is_said_and_not_called_a_failed_rollback(target):
    """The step stops before its first write; the run says another tool
    removed the lock and that nothing was written, and audits no failed
    rollback (nothing to restore by hand)."""
    before = target.bytes()
    lock = str(target.host / "deploy.lock")
    stop = threading.Event()
    remover = threading.Thread(target=_remove_the_lock_when_taken, args=(lock, stop), daemon=True)
    remover.start()
    try:
        rc, tasks = target.play("marketplace.yml", *STEP_1)
    finally:
        stop.set()
        remover.join()
    assert rc == 2
    assert target.bytes() == before
    msg = tasks["Fail the run with what was expected and what was seen"]["msg"]
    assert msg.startswith("marketplace step 1 failed and changed nothing (nothing to roll back: every file is as "
                          "snapshot %s/backups/" % target.host), msg
    assert ("(this run wrote nothing), but run %s does not hold the deployment lock %s: another tool removed the "
            "deployment lock during this run (there is no lock file)" % (_run_id(target), lock)) in msg
    assert "restore by hand" not in msg and "FAILED" not in msg
    events = target.events()
    names = [event for event, dummy in events]
    assert "ACTIVATION_NOTHING_WRITTEN" in names
    assert "ACTIVATION_ROLLBACK_FAILED" not in names and "FLAGS_CHANGED" not in names
    assert ("LOCK_LOST", {"found": "absent"}) in events
    assert tasks["Say how long the automatic rollback took"]["msg"].startswith(
        "automatic rollback not needed (nothing was written) in")
    assert not os.path.exists(lock)


def test_a_lock_removed_by_another_tool_after_the_write_is_a_real_failed_rollback_naming_it(target):
    """Removed once the flags are written (at the gateway's reload): the
    change is live and the rollback does not race that tool, so this one is
    to be restored by hand, and the message says why."""
    lock = str(target.host / "deploy.lock")
    gateway = target.double.server.gateway
    answer = gateway.answer

    def answer_removing_the_lock(request):
        if request.method == "POST" and os.path.exists(lock):
            os.unlink(lock)
        return answer(request)

    gateway.answer = answer_removing_the_lock
    rc, tasks = target.play("marketplace.yml", *STEP_1)
    assert rc == 2
    msg = tasks["Fail the run with what was expected and what was seen"]["msg"]
    assert ("was NOT rolled back (not rolled back, because run %s does not hold the deployment lock %s: another tool "
            "removed the deployment lock during this run" % (_run_id(target), lock)) in msg, msg
    assert "once that tool is done, restore by hand: sudo %s/nexus-rollback-" % target.audit_dir in msg
    names = [event for event, dummy in target.events()]
    assert "FLAGS_CHANGED" in names and "ACTIVATION_ROLLBACK_FAILED" in names and "LOCK_LOST" in names
