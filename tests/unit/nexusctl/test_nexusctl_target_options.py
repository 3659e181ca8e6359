# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl's target options (-i -l -e -v) before, between and after the
command, for every command: the value after the command wins, -e
accumulates in order, -v adds up; commands that reach no host refuse them."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import DEFAULT_INVENTORY

# Every command that reaches hosts, with the arguments it needs besides the target options.
COMMANDS = {
    "deploy": (["deploy"], []),
    "precheck": (["precheck"], ["--skip", "memory"]),
    "unlock": (["unlock"], ["--reason", "run is gone"]),
    "marketplace enable": (["marketplace", "enable"], ["--phase", "3", "--step", "1"]),
    "marketplace status": (["marketplace", "status"], []),
    "launch": (["launch"], ["--mode", "global", "--confirm", "--approver", "alice"]),
    "rollback": (["rollback"], ["20261128T103000Z"]),
    "rollback --emergency": (["rollback"], ["--emergency", "--reason", "fraud wave"]),
    "status": (["status"], []),
    "audit verify": (["audit", "verify"], []),
}
GROUPS = ("marketplace enable", "marketplace status", "audit verify")


def parse(*argv):
    return nexusctl_main.parse(list(argv))[1]


def targets(args):
    return args.inventory, args.limit, args.extra_vars, args.verbose


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_target_options_before_the_command(name):
    command, rest = COMMANDS[name]
    args = parse("-i", "inv1", "-l", "vps1", "-e", "a=1", "-e", '{"b": 2}', "-vv", *(command + rest))
    assert targets(args) == ("inv1", "vps1", ["a=1", '{"b": 2}'], 2)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_target_options_after_the_command(name):
    command, rest = COMMANDS[name]
    args = parse(*(command + rest + ["--inventory", "inv2", "--limit", "vps2", "--extra-vars", "c=3", "-v"]))
    assert targets(args) == ("inv2", "vps2", ["c=3"], 1)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_after_the_command_wins_and_extra_vars_accumulate_in_order(name):
    command, rest = COMMANDS[name]
    args = parse("-i", "inv1", "-l", "vps1", "-e", "a=1", "-v",
                 *(command + ["-i", "inv2", "-l", "vps2", "-e", "a=2", "-vv"] + rest))
    assert targets(args) == ("inv2", "vps2", ["a=1", "a=2"], 3)


@pytest.mark.parametrize("name", GROUPS)
def test_target_options_between_a_group_and_its_command(name):
    group, sub = COMMANDS[name][0]
    args = parse("-i", "inv1", "-e", "a=1", group, "-i", "inv2", "-l", "vps2", "-e", "a=2", sub, "-e", "a=3",
                 *COMMANDS[name][1])
    assert targets(args) == ("inv2", "vps2", ["a=1", "a=2", "a=3"], 0)


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - {"audit verify"}))
def test_defaults_without_target_options(name):
    command, rest = COMMANDS[name]
    assert targets(parse(*(command + rest))) == (DEFAULT_INVENTORY, None, [], 0)


@pytest.mark.parametrize("sub", ["verify", "tail"])
def test_audit_with_dir_has_no_inventory(sub):
    # With --dir it reads a directory here; the sandbox default is applied
    # only when neither --dir nor -i is given (cmd_audit.where_problem).
    args = parse("audit", sub, "--dir", "d")
    assert (args.inventory, args.dir) == (None, "d")


def test_the_issue_as_reported():
    args = parse("-i", "inventories/production", "marketplace", "enable", "--phase", "3", "--step", "1")
    assert (args.inventory, args.phase, args.step) == ("inventories/production", 3, 1)
    assert args.func.__name__ == "run_enable"


@pytest.mark.parametrize("argv, named", [
    (["-i", "inv1", "validate"], "nexusctl validate reaches no host and takes no -i/--inventory"),
    (["-e", "a=1", "-v", "validate"], "nexusctl validate reaches no host and takes no -e/--extra-vars, -v/--verbose"),
])
def test_commands_without_hosts_refuse_target_options(capsys, argv, named):
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2
    assert named in capsys.readouterr().err


def test_a_group_without_its_command_prints_its_usage(capsys):
    assert nexusctl_main.main(["-i", "inv1", "marketplace"]) == 2
    assert "choose a command: enable or status" in capsys.readouterr().err
