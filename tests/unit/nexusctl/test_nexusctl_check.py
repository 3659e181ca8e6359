# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""--check (a preview: no confirmation, no secret, nothing written) and
--detailed-exitcode on every command that changes state, the exit code
mapping (nexusctl/exit_codes.py), and what a check run shows: the PF diffs
of a loop and the gates' verdict. No playbook runs here: ansible-runner is
replaced by a stand-in that replays events."""

from __future__ import annotations

import io

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.nexusctl import check_mode, cmd_launch, playbook_run
from ansible_collections.nexus_cos.launch.nexusctl.exit_codes import (EXIT_CANCELED, EXIT_ERROR, EXIT_OK, EXIT_REFUSED,
                                                                      EXIT_UNREACHABLE, EXIT_USAGE, detailed_exit_code)
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import Progress

CHANGING = [
    ["launch", "--mode", "global"],
    ["marketplace", "enable", "--phase", "3", "--step", "1"],
    ["rollback"],
    ["rollback", "--emergency"],
    ["deploy"],
    ["guard"],
    ["unlock", "--reason", "dead run"],
]


def parse(*argv):
    return nexusctl_main.parse(list(argv))[1]


@pytest.mark.parametrize("code, pending, expected", [
    (EXIT_OK, False, 0), (EXIT_OK, True, 2),
    (EXIT_REFUSED, False, 1), (EXIT_REFUSED, True, 1), (EXIT_USAGE, False, 1), (EXIT_UNREACHABLE, True, 1),
    (EXIT_ERROR, False, 1), (EXIT_CANCELED, True, 1),
])
def test_detailed_exit_codes_as_terraform_plan(code, pending, expected):
    assert detailed_exit_code(code, pending) == expected


@pytest.mark.parametrize("argv", CHANGING)
def test_every_changing_command_takes_check_and_detailed_exitcode(argv):
    args = parse(*argv + ["--check", "--detailed-exitcode"])
    assert args.check is True and args.detailed_exitcode is True
    assert parse(*argv).detailed_exitcode is False


@pytest.mark.parametrize("argv", CHANGING)
def test_detailed_exitcode_without_check_is_a_usage_error_exiting_1(argv, monkeypatch, capsys):
    monkeypatch.setattr(playbook_run, "run_ansible_runner", lambda *a, **k: pytest.fail("ran a playbook"))
    assert nexusctl_main.main(argv + ["--detailed-exitcode"]) == 1
    assert capsys.readouterr().err == "nexusctl: %s\n" % check_mode.DETAILED_REFUSAL


def test_an_argument_error_with_detailed_exitcode_is_1_not_2(capsys):
    assert nexusctl_main.main(["launch", "--mode", "everywhere", "--check", "--detailed-exitcode"]) == 1
    assert "invalid choice: 'everywhere'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        nexusctl_main.main(["launch", "--mode", "everywhere", "--check"])
    assert stopped.value.code == 2


def test_a_launch_preview_asks_for_no_confirmation_and_no_secret(monkeypatch):
    seen = {}

    def run(playbook, args, **kw):
        seen.update(kw, playbook=playbook, approvals_file=cmd_launch.os.environ.get(cmd_launch.SECRETS_FILE_ENV))
        return 0

    monkeypatch.setattr(cmd_launch, "run_playbook", run)
    monkeypatch.setattr(cmd_launch, "read_secrets", lambda names: {} if not names else pytest.fail("asked"))
    args = parse("launch", "--mode", "global", "--check")
    assert args.func(args) == 0
    assert seen["check"] is True and seen["diff"] is True and seen["playbook"] == "launch.yml"
    assert seen["extravars"]["nexus_launch_confirm"] is False
    assert seen["extravars"]["nexus_launch_approvals"] == []


def test_a_real_launch_still_needs_the_confirmation(monkeypatch, capsys):
    monkeypatch.setattr(cmd_launch, "run_playbook", lambda *a, **k: pytest.fail("ran"))
    args = parse("launch", "--mode", "global")
    assert args.func(args) == EXIT_REFUSED
    assert cmd_launch.CONFIRM_REFUSAL in capsys.readouterr().err


class Result(object):
    def __init__(self, stats):
        self.status, self.rc, self.stats, self.events = "successful", 0, stats, []


def replay(monkeypatch, stats, preview):
    """run_ansible_runner's stand-in: ends a successful run whose stats
    event carries ``preview`` (role activation_gate's set_stats)."""
    def runner(prefix, **kwargs):
        kwargs["event_handler"]({"event": "playbook_on_stats",
                                 "event_data": {"artifact_data": {"nexus_preview": preview} if preview else {}}})
        return Result(stats), "/tmp/private"
    monkeypatch.setattr(playbook_run, "run_ansible_runner", runner)


@pytest.mark.parametrize("changed, refused, plain, detailed", [
    ({"vps1": 0}, False, 0, 0),
    ({"vps1": 2}, False, 0, 2),
    ({"vps1": 2}, True, 1, 1),
    ({}, True, 1, 1),
])
def test_a_check_run_exits_by_the_gates_verdict_and_the_changes(monkeypatch, tmp_path, changed, refused, plain, detailed):
    replay(monkeypatch, {"changed": changed, "ok": {"vps1": 9}}, {"vps1": {"refused": refused, "needs": []}})
    argv = ["marketplace", "enable", "-i", str(tmp_path), "--phase", "3", "--step", "2", "--check"]
    assert nexusctl_main.main(argv) == plain
    assert nexusctl_main.main(argv + ["--detailed-exitcode"]) == detailed


def test_a_real_run_ignores_a_preview_it_cannot_have(monkeypatch, tmp_path):
    """A run outside check mode exits by its own outcome only."""
    replay(monkeypatch, {"changed": {"vps1": 3}}, {"vps1": {"refused": True}})
    assert nexusctl_main.main(["marketplace", "enable", "-i", str(tmp_path), "--phase", "3", "--step", "2"]) == 0


def test_the_pf_diffs_of_a_loop_are_shown():
    out = io.StringIO()
    progress = Progress(stream=out)
    item = {"changed": True, "item": {"file": "marketplace-phase3.yaml"},
            "diff": {"before": "enabled: false\n", "after": "enabled: true\n",
                     "before_header": "pfs/marketplace-phase3.yaml", "after_header": "pfs/marketplace-phase3.yaml"}}
    unchanged = dict(item, changed=False, diff={"before": "a\n", "after": "b\n"})
    progress({"event": "runner_on_ok", "event_data": {
        "host": "vps1", "task": "Set the PF values", "task_action": "nexus_cos.launch.pf_setting",
        "res": {"changed": True, "results": [item, unchanged]}}})
    lines = [line.strip() for line in out.getvalue().splitlines()]
    assert "-enabled: false" in lines and "+enabled: true" in lines
    assert "+b" not in lines
