"""A host for playbook tests that needs no VPS: this machine over a local
connection, the host's paths under the test's directory (a copy of the
sample repository's flag store and PF files), the gateway double in-process.
With ``fleet`` more such hosts join nexus_vps, each with a gateway double of
its own that reads the same flag store, as a fleet's gateways do."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ansible_collections.nexus_cos.launch.plugins.module_utils import activation, audit_log

from ansible_collections.nexus_cos.launch.tests.unit.utils.gateway_double import ROOT, Double, sample_repo
from ansible_collections.nexus_cos.launch.tests.unit.utils.local_target import local_inventory


# Extra vars of a marketplace step 1 run on the test bed (which has no prepare run).
STEP_1 = ("-e", "marketplace_step_number=1", "-e", "activation_force_reason=no prepare run on this test bed")


def item_failed(result):
    """Whether a loop item's result, as the json callback prints it, is a
    failure. From ansible-core 2.21 a callback no longer gets an item's
    ``failed`` key; a failed item still carries the ``exception`` ansible-core
    gives every failure (a successful one has none)."""
    if "failed" in result:
        return bool(result["failed"])
    return "exception" in result


class Target(object):
    def __init__(self, tmp_path, fleet=()):
        repo = sample_repo(tmp_path)
        self.host = tmp_path / "host"
        self.host.mkdir()
        self.flag_store, self.pf_dir = repo["flag_store"], repo["pf_dir"]
        self.audit_dir = str(self.host / "audit")
        self.double = Double(self.flag_store, str(tmp_path / "faults.json"))
        # {host name: its gateway}, every one reading the one flag store.
        self.doubles = dict((name, Double(self.flag_store, str(tmp_path / ("faults-%s.json" % name))))
                            for name in fleet)
        self.inventory = local_inventory(
            tmp_path / "hosts.yml", nexus_environment="test", nexus_flag_store=self.flag_store,
            nexus_pf_dir=self.pf_dir, nexus_audit_dir=self.host / "audit", nexus_backup_dir=self.host / "backups",
            nexus_lock_path=self.host / "deploy.lock", nexus_gateway_url=self.double.url,
            nexus_artifacts_dir=self.host / "artifacts", nexus_verify_timeout=5,
            also=dict((name, {"nexus_gateway_url": double.url}) for name, double in self.doubles.items()))
        self.files = [self.flag_store] + [os.path.join(self.pf_dir, n) for n in activation.PF_FILES]

    def bytes(self):
        return dict((path, open(path, "rb").read()) for path in self.files)

    def play(self, playbook, *args):
        """(rc, {task name: testhost's result}) of one ansible-playbook run."""
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_SHOW_CUSTOM_STATS="true")
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                               str(self.inventory), os.path.join(ROOT, "playbooks", playbook)] + list(args),
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        out = json.loads(proc.stdout)
        self.stats = out.get("global_custom_stats", {})     # the run's set_stats, as AWX keeps them
        tasks = {}
        for task in out["plays"][0]["tasks"]:
            tasks[task["task"]["name"].split(" : ")[-1]] = task["hosts"].get("testhost", {})
        return proc.returncode, tasks

    def events(self):
        return [(e.record.event, e.record.fields) for e in audit_log.read_trail(self.audit_dir)[0]]

    def close(self):
        for double in [self.double] + list(self.doubles.values()):
            double.close()
