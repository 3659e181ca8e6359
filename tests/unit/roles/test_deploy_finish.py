"""roles/deploy_finish closes a run from whatever it got to: here the
precheck module failed (its result has no table or summary), and the
summary, the final listing and the failure message must still come out.
Run for real with ansible-playbook on the controller (no host)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

PLAY = """- hosts: localhost
  gather_facts: false
  vars:
    deploy_lock_playbook: phase4
    deploy_lock_audit_file: deployment-20261201T100000Z.log
    nexus_artifacts_dir: {artifacts}
    nexus_precheck:
      failed: true
      msg: "precheck: the module failed: Traceback ..."
    deploy_finish_failure: ["failed at: Run the prechecks", "precheck: the module failed"]
  tasks:
    - ansible.builtin.import_role:
        name: nexus_cos.launch.launch_context
    - ansible.builtin.import_role:
        name: nexus_cos.launch.deploy_finish
"""


def test_a_failed_precheck_module_still_gets_its_summary_and_message(tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(artifacts=tmp_path / "artifacts"))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(play),
                           "-e", "nexus_run_id=20261201T100000Z-abcdef"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    out = json.loads(proc.stdout)
    tasks = dict((t["task"]["name"].split(" : ")[-1], t["hosts"]["localhost"]) for t in out["plays"][0]["tasks"])
    assert proc.returncode == 2
    assert tasks["Fail the run with what failed"]["msg"] == ["failed at: Run the prechecks",
                                                             "precheck: the module failed"]
    listing = tasks["Say how the run ended and where its records are"]["msg"]
    assert listing[0] == "run 20261201T100000Z-abcdef: FAILED" and not any("precheck log" in line for line in listing)
    summary = (tmp_path / "artifacts" / "20261201T100000Z-abcdef" / "summary-localhost.txt").read_text()
    assert "status:    FAILED" in summary and "  failed at: Run the prechecks" in summary
    # The launch report beside it, same stem, and the data nexusctl report renders again.
    run_dir = tmp_path / "artifacts" / "20261201T100000Z-abcdef"
    page = (run_dir / "summary-localhost.html").read_text()
    assert '<div class="banner bad" id="outcome">FAILED<small>failed at: Run the prechecks</small>' in page
    data = json.loads((run_dir / "summary-localhost.json").read_text())
    assert data["run"]["playbook"] == "phase4" and data["run"]["status"] == "failed"
    assert [t["event"] for t in data["timeline"]] == ["DEPLOYMENT_START", "DEPLOYMENT_COMPLETE"]
    assert data["run"]["started_utc"].endswith(" UTC") and all(t["at_utc"].endswith(" UTC") for t in data["timeline"])
    assert "launch report (controller): %s/summary-localhost.html" % run_dir in listing


def test_a_check_run_writes_no_summary_and_no_report(tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(artifacts=tmp_path / "artifacts"))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(play), "--check",
                           "-e", "nexus_run_id=20261201T100000Z-abcdef"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert not os.path.exists(tmp_path / "artifacts" / "20261201T100000Z-abcdef")


def test_its_tasks_are_named_for_what_they_do_in_every_play():
    """Marketplace, launch and rollback runs have no precheck table: no
    task of the shared finish names one."""
    import yaml
    with open(os.path.join(ROOT, "roles", "deploy_finish", "tasks", "main.yml")) as handle:
        names = [t["name"] for t in yaml.safe_load(handle)]
    assert names and not [n for n in names if "precheck" in n.lower()]
