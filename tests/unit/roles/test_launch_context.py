"""roles/launch_context, run for real on the controller (no host): the run
id, its stamp and the start time come from one reading of the clock, and a
run id given as an extra var keeps its own stamp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

PLAY = """- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.import_role:
        name: nexus_cos.launch.launch_context
    - ansible.builtin.copy:
        dest: {out}
        content: "{{{{ {{'id': nexus_run_id, 'stamp': nexus_run_stamp, 'started': nexus_run_started}} | to_json }}}}"
        mode: "0600"
"""


def context(tmp_path, *extra):
    out = tmp_path / "context.json"
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(out=out))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(play)] + list(extra),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_id_stamp_and_start_agree(tmp_path):
    got = context(tmp_path)
    assert got["stamp"] == time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(int(got["started"])))
    assert got["id"].startswith(got["stamp"] + "-") and len(got["id"]) == 23


@pytest.mark.parametrize("given, stamp", [("20261201T100000Z-abcdef", "20261201T100000Z"), ("change-4711", None)])
def test_a_given_run_id_wins(tmp_path, given, stamp):
    got = context(tmp_path, "-e", "nexus_run_id=" + given)
    assert got["id"] == given
    expected = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(int(got["started"])))
    assert got["stamp"] == expected
