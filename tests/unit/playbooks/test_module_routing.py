# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Old module names keep working through meta/runtime.yml plugin_routing:
a redirect runs the new module and warns, a tombstone fails naming the
module that replaced it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.nexus_cos.launch.tests.unit.utils.gateway_double import Double, sample_repo
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

PLAY = """
- name: An old module name
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Call it
      %s:
%s
"""


def run_play(tmp_path, action, args):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY % (action, "".join("        %s: %s\n" % item for item in args.items())))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


@pytest.fixture
def double(tmp_path):
    gateway = Double(sample_repo(tmp_path)["flag_store"], str(tmp_path / "faults.json"))
    yield gateway
    gateway.close()


def test_gateway_probe_runs_gateway_info_and_warns(tmp_path, double):
    rc, out = run_play(tmp_path, "nexus_cos.launch.gateway_probe", {"url": double.url})
    assert rc == 0, out
    assert "nexus_cos.launch.gateway_probe has been deprecated" in out, out
    assert "use nexus_cos.launch.gateway_info" in out and "3.0.0" in out, out


def test_audit_verify_runs_audit_chain_info_and_warns(tmp_path):
    # No trail there: the message is the new module's own, so it ran.
    rc, out = run_play(tmp_path, "nexus_cos.launch.audit_verify", {"audit_dir": str(tmp_path / "audit")})
    assert rc == 2 and "no run has written an audit trail on this host" in out, out
    assert "use nexus_cos.launch.audit_chain_info" in out, out


def test_activation_state_fails_with_the_tombstone_text(tmp_path):
    rc, out = run_play(tmp_path, "nexus_cos.launch.activation_state", {"audit_dir": str(tmp_path)})
    assert rc != 0
    # Ansible's own wording: from 2.19 "The '...' module has been removed", before "[DEPRECATED]: ... has been removed".
    assert ("The 'nexus_cos.launch.activation_state' module has been removed" in out
            or "[DEPRECATED]: nexus_cos.launch.activation_state has been removed" in out), out
    assert "use nexus_cos.launch.activation_info" in out, out
