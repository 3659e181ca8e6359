"""playbooks/marketplace.yml for real, on this machine (a local
connection, the host's paths under the test's directory, the gateway double
in-process): an activation is done only when applied, confirmed and
recorded, so a record step that fails rolls the change back."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import activation, audit_log

from gateway_double import ROOT, Double, sample_repo
from local_target import local_inventory


class Target(object):
    def __init__(self, tmp_path):
        repo = sample_repo(tmp_path)
        self.host = tmp_path / "host"
        self.host.mkdir()
        self.flag_store, self.pf_dir = repo["flag_store"], repo["pf_dir"]
        self.audit_dir = str(self.host / "audit")
        self.double = Double(self.flag_store, str(tmp_path / "faults.json"))
        self.inventory = local_inventory(
            tmp_path / "hosts.yml", nexus_environment="test", nexus_flag_store=self.flag_store,
            nexus_pf_dir=self.pf_dir, nexus_audit_dir=self.host / "audit", nexus_backup_dir=self.host / "backups",
            nexus_lock_path=self.host / "deploy.lock", nexus_gateway_url=self.double.url,
            nexus_artifacts_dir=self.host / "artifacts", nexus_verify_timeout=5)
        self.files = [self.flag_store] + [os.path.join(self.pf_dir, n) for n in activation.PF_FILES]

    def bytes(self):
        return dict((path, open(path, "rb").read()) for path in self.files)

    def play(self, playbook, *args):
        """(rc, {task name: result}) of one ansible-playbook run."""
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1")
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                               str(self.inventory), os.path.join(ROOT, "playbooks", playbook)] + list(args),
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        out = json.loads(proc.stdout)
        tasks = {}
        for task in out["plays"][0]["tasks"]:
            tasks[task["task"]["name"].split(" : ")[-1]] = task["hosts"].get("testhost", {})
        return proc.returncode, tasks

    def events(self):
        return [(e.record.event, e.record.fields) for e in audit_log.read_trail(self.audit_dir)[0]]


@pytest.fixture
def target(tmp_path):
    t = Target(tmp_path)
    yield t
    t.double.close()


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
