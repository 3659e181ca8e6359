# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The activation_gate action as a preview: in the task's own check mode it
reports each gate's verdict and what a real run needs, needs no confirmation
and no approvals, and audits nothing. Outside check mode (whatever the
variables say) it refuses and audits as before."""

from __future__ import annotations

import json
import os
from unittest import mock

import pytest
from passlib.hash import pbkdf2_sha256

from ansible_collections.nexus_cos.launch.plugins.action import activation_gate
from ansible_collections.nexus_cos.launch.plugins.modules import audit_record
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import approvals
from ansible_collections.nexus_cos.launch.tests.unit.utils.activation_host import AUDIT_FILE, base, new_host, run, RUN, write_prepare_run

pytestmark = pytest.mark.usefixtures("module_exits")

APPROVERS = {"alice": {"role": "founder", "password_hash": pbkdf2_sha256.hash("alice-s3cret")},
             "bob": {"role": "technical_lead", "password_hash": pbkdf2_sha256.hash("bob-s3cret")}}


@pytest.fixture
def host(tmp_path, monkeypatch):
    monkeypatch.delenv(approvals.SECRETS_FILE_ENV, raising=False)
    host = new_host(tmp_path)
    write_prepare_run(host)
    return host


def gate(host, check_mode, task_vars=None, host_says=None, **args):
    """(result, modules run) of the launch gate with no confirmation and no approvals."""
    task = mock.MagicMock()
    task.args = dict(base(host), kind="launch", mode="global", confirm=False, approvers=APPROVERS, approvals=[],
                     waivers={"security_audit": "booked", "compliance_review": "signed"}, audit_file=AUDIT_FILE, run_id=RUN)
    task.args.update(args)
    task.async_val, task.check_mode, task.diff = 0, check_mode, check_mode
    action = activation_gate.ActionModule(task, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(),
                                          mock.MagicMock(), mock.MagicMock())
    modules = []

    def execute_module(module_name, module_args, task_vars):
        modules.append(module_name)
        if module_name.endswith("activation_info"):
            return dict(run(dict(module_args)), **(host_says or {}))
        return run(dict(module_args), module=audit_record)

    action._execute_module = execute_module
    return action.run(task_vars=task_vars or {}), modules


def audit_files(host):
    return sorted(os.listdir(host["audit_dir"]))


def test_a_preview_reports_the_verdicts_needs_nothing_and_audits_nothing(host):
    before = audit_files(host)
    result, modules = gate(host, check_mode=True)
    assert result["preview"] is True and result["refused"] is False, result["msg"]
    assert modules == ["nexus_cos.launch.activation_info"]    # no audit_record
    assert audit_files(host) == before
    gates = dict((g["gate"], g["verdict"]) for g in result["gates"])
    assert gates["confirmation"] == "needed" and gates["approvals"] == "needed"
    assert gates["launch gate security_audit"] == "waived"
    assert result["needs"][1].endswith("founder: alice; technical_lead: bob")
    assert "OPEN     prepare run: Phase 4 prepare run 20261128T090000Z-prep01 passed" in "\n".join(result["verdict_lines"])
    assert "s3cret" not in json.dumps(result) and "pbkdf2" not in json.dumps(result)
    assert result["flags"] == {"PUBLIC_FULL_LAUNCH_MODE": True, "JURISDICTION_ENGINE_ENABLED": True,
                               "FOUNDER_BETA_MODE": False, "PUBLIC_SOFT_LAUNCH_MODE": False}


@pytest.mark.parametrize("task_vars, host_says", [({}, None), ({"ansible_check_mode": True}, None),
                                                  ({"preview": True}, {"preview": True})])
def test_a_real_run_is_refused_and_audited_as_before_whatever_the_variables_say(host, task_vars, host_says):
    """Only the task's own check mode makes a preview: a variable (-e
    ansible_check_mode=true, which Ansible ignores anyway) does not, nor
    a host's answer that says so."""
    result, modules = gate(host, check_mode=False, task_vars=task_vars, host_says=host_says)
    assert result["preview"] is False and result["refused"] is True
    assert result["msg"].splitlines()[0].startswith("the Phase 4 launch changes public access and needs an explicit "
                                                    "confirmation")
    assert result["needs"] == []
    assert modules[-1] == "nexus_cos.launch.audit_record"
    with open(os.path.join(host["audit_dir"], AUDIT_FILE)) as handle:
        assert "ACTIVATION_GATE" in handle.read()


def test_a_preview_given_approvals_checks_them(host):
    """--approver with --check: the approvals are checked as in a real run (here: no approvals file)."""
    result, dummy = gate(host, check_mode=True, confirm=True, approvals=[{"name": "alice"}, {"name": "bob"}])
    assert result["preview"] is True and result["refused"] is True
    assert "no approvals file" in result["msg"]
    assert dict((g["gate"], g["verdict"]) for g in result["gates"])["approvals"] == "refused"


def test_a_gate_that_cannot_decide_is_no_preview(host):
    """A refusal before any decision (here an option the gate does not
    know) carries no preview flag, so the play stops in check mode too."""
    result, modules = gate(host, check_mode=True, aproovals=[])
    assert result["refused"] is True and "preview" not in result and modules == []
