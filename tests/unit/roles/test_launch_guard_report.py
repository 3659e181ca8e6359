# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""roles/launch_guard's report task, run for real with ansible-playbook on
the controller from the role's own YAML, on a guard result as the guard
returns it: the watch joins the launch report deploy_finish wrote (after a
launch), or makes a report of its own (the guard run alone)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from ansible_collections.nexus_cos.launch.plugins.plugin_utils import launch_report
from ansible_collections.nexus_cos.launch.tests.unit.utils import launch_report_fixture as fixture
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT, role

TASK = "Keep the audit chain head and the guard's watch on the controller"
RUN = "20261201T100000Z-abcdef"


def play(tmp_path, after_launch):
    with open(os.path.join(role("launch_guard"), "tasks", "main.yml"), encoding="utf-8") as handle:
        task = [t for t in yaml.safe_load(handle) if t["name"] == TASK][0]
    guard = dict(fixture.results()["guard"], audit_head={"seq": 420, "chain": "ab" * 32})
    variables = {"nexus_artifacts_dir": str(tmp_path / "artifacts"), "nexus_run_id": RUN, "nexus_guard": guard}
    if after_launch:
        variables["deploy_lock_playbook"] = "launch"
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "vars": variables,
                                     "tasks": [task]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return tmp_path / "artifacts" / RUN


def test_the_watch_joins_the_launch_report(tmp_path):
    run_dir = tmp_path / "artifacts" / RUN
    run_dir.mkdir(parents=True)
    launch = fixture.results(refused=False)
    launch.pop("guard")
    (run_dir / "summary-localhost.json").write_text(json.dumps(launch_report.report_data(launch)))
    play(tmp_path, after_launch=True)
    data = json.loads((run_dir / "summary-localhost.json").read_text())
    assert data["run"]["playbook"] == "launch" and data["prechecks"]["summary"]["passed"] == 1
    assert data["guard"]["looks"] == 40 and len(data["guard"]["samples"]) == 40
    assert data["chain"]["seq"] == 420
    assert [t["event"] for t in data["timeline"]][-2:] == ["GUARD_START", "GUARD_END"]
    assert "LAUNCHED" in (run_dir / "summary-localhost.html").read_text()
    assert json.loads((tmp_path / "artifacts" / "audit-heads" / "localhost.json").read_text())["seq"] == 420


def test_the_guard_alone_gets_a_report_of_its_own(tmp_path):
    run_dir = play(tmp_path, after_launch=False)
    data = json.loads((run_dir / "summary-localhost.json").read_text())
    assert data["run"]["playbook"] == "guard" and data["run"]["id"] == RUN and "prechecks" not in data
    assert data["run"]["started_utc"] == "2026-12-01 10:01:40 UTC"
    assert [t["at_utc"] for t in data["timeline"]] == ["2026-12-01 10:01:40 UTC", "2026-12-01 10:04:55 UTC"]
    assert "The guard's watch" in (run_dir / "summary-localhost.html").read_text()
    for secret in fixture.SECRETS:      # the result's channels never reach the report
        assert secret not in json.dumps(data), secret
