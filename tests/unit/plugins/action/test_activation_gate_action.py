# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The activation_gate action plugin end to end on the controller side, its
host modules run in-process on a tmp host (utils/activation_host.py)."""

from __future__ import annotations

import json
import os
from unittest import mock

import pytest
from passlib.hash import pbkdf2_sha256

from ansible_collections.nexus_cos.launch.plugins.action import activation_gate
from ansible_collections.nexus_cos.launch.plugins.modules import audit_record
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import approvals, launch_report
from ansible_collections.nexus_cos.launch.tests.unit.utils.activation_host import AUDIT_FILE, base, new_host, run, RUN, write_prepare_run
from ansible_collections.nexus_cos.launch.tests.unit.utils import core_messages

pytestmark = pytest.mark.usefixtures("module_exits")


@pytest.fixture
def host(tmp_path):
    return new_host(tmp_path)


def test_the_gate_action_reads_the_facts_from_the_paths_it_is_given(tmp_path):
    """The action plugin end to end on the controller side: it asks the host
    (module activation_info, read-only) with the task's paths, decides, and
    has the decision audited."""
    task = mock.MagicMock()
    task.args = {"kind": "marketplace", "step": 2, "phase": 3, "audit_dir": "/a", "flag_store": "/f", "pf_dir": "/p",
                 "lock_path": "/l", "audit_file": "activation-20261201T100000Z.log", "run_id": "r1"}
    task.async_val, task.check_mode, task.diff = 0, False, False
    action = activation_gate.ActionModule(task, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(),
                                          mock.MagicMock(), mock.MagicMock())
    calls = []

    def execute_module(module_name, module_args, task_vars):
        calls.append((module_name, dict(module_args)))
        if module_name.endswith("activation_info"):
            return {"flag_store": {"document": None, "error": "/f: not found"}, "pfs": {}, "activations": [],
                    "runs": [], "now": 1796119200}
        return {"changed": False}

    action._execute_module = execute_module
    result = action.run(task_vars={})
    assert calls[0] == ("nexus_cos.launch.activation_info", {"audit_dir": "/a",
                                                             "flag_store": "/f", "pf_dir": "/p", "lock_path": "/l"})
    assert result["refused"] is True and "/f: not found" in result["msg"]
    assert calls[1][0] == "nexus_cos.launch.audit_record"   # the refusal is audited


@pytest.mark.parametrize("args, message", [
    ({"kind": "rollout"}, "value of kind must be one of: marketplace, launch, got: rollout"),
    ({"kind": "marketplace", "step": "two"}, "argument 'step' is of type str and we were unable to convert to int"),
    ({"kind": "launch", "confirm": "perhaps"}, "argument 'confirm' is of type str and we were unable to convert to bool"),
    ({"kind": "launch", "approvers": "alice"}, "argument 'approvers' is of type str and we were unable to convert to dict"),
    ({"kind": "launch", "aproovals": []}, "Unsupported parameters"),
])
def test_the_gate_refuses_options_its_documentation_does_not_allow_naming_them(args, message):
    """Checked by the documented spec before the host is asked; a refusal the
    play shows, as the task runs with no_log."""
    task = mock.MagicMock()
    task.args = dict({"flag_store": "/f", "pf_dir": "/p"}, **args)
    task.async_val, task.check_mode, task.diff = 0, False, False
    action = activation_gate.ActionModule(task, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(),
                                          mock.MagicMock(), mock.MagicMock())
    action._load_name = "nexus_cos.launch.activation_gate"  # as the plugin loader names it
    action._execute_module = mock.MagicMock()
    result = action.run(task_vars={})
    assert result["refused"] is True and message in core_messages.plain(result["msg"]), result["msg"]
    assert not action._execute_module.called


def test_the_launch_gate_accepts_bound_approvals_once(host, tmp_path, monkeypatch):
    """The launch gate end to end on the controller side, with the host's
    real facts: approvals from a bound approvals file are audited as
    APPROVALS_ACCEPTED (the nonce's hash, never a secret), and the same file
    is refused by the next gate, which finds that record in the trail."""
    write_prepare_run(host)
    secrets = {"alice": "alice-s3cret", "bob": "bob-s3cret"}
    approvers = {"alice": {"role": "founder", "password_hash": pbkdf2_sha256.hash("alice-s3cret")},
                 "bob": {"role": "technical_lead", "password_hash": pbkdf2_sha256.hash("bob-s3cret")}}
    path = tmp_path / "approvals.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(approvals.new_approvals_file(secrets, RUN), handle)
    monkeypatch.setenv(approvals.SECRETS_FILE_ENV, str(path))

    def gate():
        task = mock.MagicMock()
        task.args = dict(base(host), kind="launch", mode="global", confirm=True, approvers=approvers,
                         approvals=[{"name": "alice"}, {"name": "bob"}], audit_file=AUDIT_FILE, run_id=RUN)
        task.async_val, task.check_mode, task.diff = 0, False, False
        action = activation_gate.ActionModule(task, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(),
                                              mock.MagicMock(), mock.MagicMock())
        written = []

        def execute_module(module_name, module_args, task_vars):
            if module_name.endswith("activation_info"):
                return run(dict(module_args))
            written.extend(module_args["audit_events"])
            return run(dict(module_args), module=audit_record)

        action._execute_module = execute_module
        return action.run(task_vars={}), written

    first, written = gate()
    accepted = [e["fields"] for e in written if e["event"] == "APPROVALS_ACCEPTED"]
    with open(path) as handle:
        nonce = json.load(handle)["nonce"]
    assert accepted == [{"nonce_sha256": approvals.nonce_hash(nonce), "issued_at": accepted[0]["issued_at"],
                         "approvers": "alice,bob"}]
    assert "s3cret" not in json.dumps(written) and nonce not in json.dumps(written)
    # The launch report of the run, from the gate's whole result, the approvers' hashes and the waivers: no secret.
    data = launch_report.report_data({"run": {"id": RUN}, "gate": first, "waivers": {"security_audit": "done offline"}})
    page = launch_report.render(data)
    assert "alice (founder), bob (technical_lead)" in page
    for secret in ("s3cret", nonce, approvers["alice"]["password_hash"], approvers["bob"]["password_hash"]):
        assert secret not in page and secret not in json.dumps(data)
    second, written = gate()
    assert second["refused"] is True
    assert ("NEXUS_LAUNCH_APPROVALS_FILE=%s: these approvals were already used by run %s (APPROVALS_ACCEPTED in its "
            "audit trail)" % (path, RUN)) in second["msg"]
    assert [e for e in written if e["event"] in ("APPROVALS_ACCEPTED", "LAUNCH_APPROVED")] == []


def test_the_gate_returns_the_recorded_activations_oldest_first_for_the_report():
    entries = [{"key": "marketplace_step_2", "applied_at": 20, "applied_at_utc": "b", "run_id": "r2", "audit_seq": 9,
                "undone": {"by_run": "r3", "at": 1796119200}},
               {"key": "marketplace_step_1", "applied_at": 10, "applied_at_utc": "a", "run_id": "r1"}, "junk"]
    assert activation_gate.history(entries) == [
        {"key": "marketplace_step_1", "applied_at": 10, "applied_at_utc": "a", "run_id": "r1", "undone_text": ""},
        {"key": "marketplace_step_2", "applied_at": 20, "applied_at_utc": "b", "run_id": "r2",
         "undone_text": "undone by rollback run r3 on 2026-12-01 10:00 UTC"}]
