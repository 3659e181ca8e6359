# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""What one operator cannot change with -e: the pinned variables and
approval secrets, refused from the run's extra vars as Ansible reads them
(-e key=value, -e @file, JSON), by the action every play runs first and by
the actions that write; the refusal never holds a value."""

from __future__ import annotations

import json
import os
import re
from unittest import mock

import pytest
from ansible import context
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.collections import ImmutableDict
from ansible.parsing.dataloader import DataLoader
from ansible.utils.vars import load_extra_vars

from ansible_collections.nexus_cos.launch.plugins.action import deploy_lock, kill_switch
from ansible_collections.nexus_cos.launch.plugins.action import pinned_vars as pinned_action
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import pinned_vars
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths

ENVIRONMENT = ("Stop: nexus_environment was given with -e (extra vars), but it is pinned (the environment, which "
               "decides whether the test clock nexus_clock_now is allowed): one operator cannot change it from the "
               "command line; set it in the inventory (group_vars or host_vars), a reviewed change, and run "
               "without the -e")


@pytest.fixture
def cli_extra_vars(monkeypatch):
    """Set the run's -e arguments as ansible-playbook would."""
    def given(*items):
        monkeypatch.setattr(context, "CLIARGS", ImmutableDict(extra_vars=tuple(items)))
        load_extra_vars.extra_vars = None
    yield given
    load_extra_vars.extra_vars = None


def action_of(module, args=None):
    task = mock.MagicMock()
    task.args = dict(args or {})
    task.async_val, task.check_mode, task.diff = 0, False, False
    return module.ActionModule(task, mock.MagicMock(), mock.MagicMock(), DataLoader(), mock.MagicMock(),
                               mock.MagicMock())


def test_each_pinned_name_is_refused_by_name_with_where_it_lives():
    assert pinned_vars.message(pinned_vars.refusals({"nexus_environment": "test"})) == ENVIRONMENT
    for name in pinned_vars.PINNED:
        [line] = pinned_vars.refusals({name: "/var/tmp/x", "marketplace_step_number": 1})
        assert line.startswith("%s was given with -e (extra vars), but it is pinned (" % name)
        assert "/var/tmp/x" not in line


def test_the_pinned_names():
    assert sorted(pinned_vars.PINNED) == [
        "activation_gate_approval_max_age_minutes", "nexus_artifacts_dir", "nexus_audit_dir", "nexus_environment",
        "nexus_launch_approvers", "precheck_repository_audit_dir", "precheck_security_audit_dir"]


def test_ordinary_extra_vars_pass():
    assert pinned_vars.refusals({"marketplace_step_number": 2, "nexus_run_id": "x",
                                 "nexus_launch_approvals": [{"name": "alice"}, "bob"]}) == []
    assert pinned_vars.message([]) == ""


def test_an_approval_secret_is_refused_with_the_right_ways_and_never_shown():
    lines = pinned_vars.refusals({"nexus_launch_approvals": [{"name": "bob"}, {"name": "alice", "secret": "s3cr3t-77"}]})
    assert lines == ["nexus_launch_approvals[1] (approver alice) carries a secret given with -e (extra vars), which "
                     "every record of the run keeps; refused, and not shown: give it as NEXUS_APPROVER_ALICE_SECRET in "
                     "the environment, in the approvals file nexusctl launch --approver alice writes from its prompt, "
                     "or as a vault-encrypted value in the inventory"]
    assert "s3cr3t-77" not in lines[0]


@pytest.mark.parametrize("items", [
    ("nexus_environment=test",),
    ('{"nexus_environment": "test"}',),
    ("marketplace_step_number=1", "nexus_environment=test nexus_clock_now=1700000000"),
])
def test_the_action_reads_extra_vars_as_ansible_does(cli_extra_vars, items):
    cli_extra_vars(*items)
    with pytest.raises(AnsibleActionFail) as raised:
        action_of(pinned_action).run(task_vars={})
    assert raised.value.message == ENVIRONMENT


def test_the_action_reads_an_extra_vars_file(cli_extra_vars, tmp_path):
    path = tmp_path / "vars.json"
    path.write_text(json.dumps({"nexus_launch_approvers": {"mallory": {"role": "founder"}}, "nexus_audit_dir": "/x"}))
    cli_extra_vars("@%s" % path)
    with pytest.raises(AnsibleActionFail) as raised:
        action_of(pinned_action).run(task_vars={})
    first, second = raised.value.message.split("; set it in the inventory (group_vars or host_vars), a reviewed "
                                               "change, and run without the -e; ")
    assert first.startswith("Stop: nexus_audit_dir was given with -e")
    assert second.startswith("nexus_launch_approvers was given with -e (extra vars), but it is pinned (the approver "
                             "registry of the two-person rule)")


def test_the_action_passes_a_run_without_them(cli_extra_vars):
    cli_extra_vars("marketplace_step_number=1")
    result = action_of(pinned_action).run(task_vars={})
    assert result["changed"] is False and "failed" not in result
    assert result["pinned"] == sorted(pinned_vars.PINNED)


@pytest.mark.parametrize("module", [deploy_lock, kill_switch])
def test_the_writers_refuse_before_the_host_is_asked(cli_extra_vars, module):
    cli_extra_vars("nexus_environment=test")
    action = action_of(module, {"lock_path": "/var/lock/x"})
    action._execute_module = lambda **kw: pytest.fail("the host was asked")
    with pytest.raises(AnsibleActionFail) as raised:
        action.run(task_vars={})
    assert raised.value.message == ENVIRONMENT


def registered_names():
    """Every name a task of roles/ or playbooks/ registers its result as."""
    names = set()
    for top in ("roles", "playbooks"):
        for dirpath, dummy, filenames in os.walk(os.path.join(repo_paths.ROOT, top)):
            for name in filenames:
                if name.endswith((".yml", ".yaml")):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as handle:
                        names.update(re.findall(r"^\s*register:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", handle.read(), re.M))
    return names


def test_every_result_the_plays_register_is_refused_from_extra_vars():
    assert registered_names() == set(pinned_vars.REGISTERED)


def test_a_registered_result_given_with_e_is_refused_and_not_shown():
    lines = pinned_vars.refusals({"nexus_activation": {"refused": False, "msg": "OPEN-SESAME"}})
    assert lines == ["nexus_activation was given with -e (extra vars), but it is the result a step of the play "
                     "registers (extra vars outrank it, so it would stand in for what the step found): run without the -e"]
    assert not any("OPEN-SESAME" in line for line in lines)
