# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl -e: read with ansible-playbook's own rules (the same values as
ansible's load_extra_vars), handed to the run as given (@FILE made
absolute), refused with the argument named when it is not what
ansible-playbook takes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.nexusctl import cmd_launch, cmd_status, playbook_run
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import parse_extra_vars, read_extra_vars


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vars.json").write_text(json.dumps({"reason": "from json", "limits": {"public": 1000}}))
    (tmp_path / "vars.yml").write_text("reason: from yaml\nsteps: [1, 2]\nenabled: true\n")
    (tmp_path / "list.yml").write_text("- 1\n- 2\n")
    (tmp_path / "empty.yml").write_text("")
    (tmp_path / "broken.yml").write_text("reason: [unclosed\n")
    return tmp_path


def ansible_reads(items):
    """What ansible's own load_extra_vars makes of ``items``."""
    from ansible import context
    from ansible.module_utils.common.collections import ImmutableDict
    from ansible.parsing.dataloader import DataLoader
    from ansible.utils.vars import load_extra_vars

    saved = context.CLIARGS
    context.CLIARGS = ImmutableDict(extra_vars=tuple(items))
    load_extra_vars.extra_vars = None
    try:
        return load_extra_vars(DataLoader())
    finally:
        context.CLIARGS = saved
        load_extra_vars.extra_vars = None


SAME_AS_ANSIBLE = [
    ['reason="fraud wave" x=1'],
    ["reason='fraud wave' x=1", "x=2"],
    ['{"reason": "fraud wave", "x": 1, "flags": [true, false]}'],
    ["{reason: fraud wave, steps: [1, 2], nested: {a: null}}"],
    ["@vars.json"],
    ["@vars.yml", "reason=override"],
    ["a=1", "@vars.yml", '{"a": 3}', "a=4 b=5"],
    ["empty=", "", "k=v=w"],
]


@pytest.mark.parametrize("items", SAME_AS_ANSIBLE)
def test_values_are_what_ansible_playbook_reads(files, items):
    assert parse_extra_vars(items) == ansible_reads(items)


def test_quoting_types_and_merging(files):
    assert parse_extra_vars(['reason="fraud wave" x=1', '{"x": 2, "on": true}', "@vars.yml"]) == {
        "reason": "from yaml", "x": 2, "on": True, "steps": [1, 2], "enabled": True}


def test_words_go_to_the_run_as_given_with_files_made_absolute(files):
    items = ['reason="fraud wave" x=1', '{"a": [1, 2]}', "@vars.yml", "@%s" % (files / "vars.json"), ""]
    dummy, words = read_extra_vars(items)
    assert words == ["-e", 'reason="fraud wave" x=1', "-e", '{"a": [1, 2]}', "-e", "@%s" % (files / "vars.yml"),
                     "-e", "@%s" % (files / "vars.json")]
    # ansible-runner splits its cmdline with shlex: every word comes back intact.
    assert shlex.split(" ".join(shlex.quote(w) for w in words)) == words


def test_vault_encrypted_file_is_passed_on_unread(files):
    (files / "secret.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n6162636465\n")
    values, words = read_extra_vars(["a=1", "@secret.yml"])
    assert values == {"a": "1"}
    assert words == ["-e", "a=1", "-e", "@%s" % (files / "secret.yml")]


@pytest.mark.parametrize("items, message", [
    (["reason=fraud wave"], "-e 'reason=fraud wave': 'wave' is not a key=value pair; expected key=value pairs "
                            "(quote values with spaces: key=\"two words\")"),
    (["fraud"], "-e fraud: 'fraud' is not a key=value pair"),
    (['reason="fraud wave'], "-e 'reason=\"fraud wave': failed at splitting arguments, either an unbalanced "
                             "jinja2 block or quotes"),
    (['{"reason": '], "-e '{\"reason\": ': YAML parsing failed"),
    (["[1, 2]"], "-e '[1, 2]': holds a list, not a mapping"),
    (["@missing.yml"], "-e @missing.yml: no such file %s/missing.yml; expected @FILE naming a JSON or YAML file"),
    (["@list.yml"], "-e @list.yml: holds a list, not a mapping"),
    (["@empty.yml"], "-e @empty.yml: holds nothing, not a mapping"),
    (["@broken.yml"], "-e @broken.yml: YAML parsing failed"),
    (["./vars.yml"], "-e ./vars.yml: looks like a file name; expected @FILE (with the @)"),
    (["ok=1", "bad"], "-e bad: 'bad' is not a key=value pair"),
])
def test_bad_extra_vars_name_the_argument(files, items, message):
    with pytest.raises(ValueError) as exc:
        parse_extra_vars(items)
    assert str(exc.value).startswith(message.replace("%s", str(files)))
    assert "expected" in str(exc.value)


def test_run_playbook_hands_the_words_to_ansible_runner(files, monkeypatch, capsys):
    seen = {}

    class Result(object):
        rc, status, stats = 0, "successful", {}

    monkeypatch.setattr(playbook_run, "run_ansible_runner", lambda prefix, **kw: seen.update(kw) or (Result, "p"))
    argv = ["-i", str(files), "-e", 'reason="fraud wave"', "marketplace", "enable", "--phase", "3", "--step", "2",
            "-e", "@vars.yml", "--check"]
    assert nexusctl_main.main(argv) == 0
    assert shlex.split(seen["cmdline"]) == ["-e", 'reason="fraud wave"', "-e", "@%s" % (files / "vars.yml"),
                                            "--check", "--diff"]
    # The command's own settings come after (ansible-runner's -e @env/extravars) and win.
    assert seen["extravars"] == {"marketplace_step_phase": 3, "marketplace_step_number": 2}


@pytest.mark.parametrize("argv", [["deploy"], ["status"], ["rollback"]])
def test_bad_extra_vars_stop_before_any_run(files, monkeypatch, capsys, argv):
    monkeypatch.setattr(playbook_run, "run_ansible_runner", lambda *a, **kw: pytest.fail("ran ansible-runner"))
    monkeypatch.setattr(cmd_status, "run_ansible_runner", lambda *a, **kw: pytest.fail("ran ansible-runner"))
    assert nexusctl_main.main(["-i", str(files), "-e", "reason=fraud wave"] + argv) == 2
    assert capsys.readouterr().err.startswith("nexusctl: -e 'reason=fraud wave': 'wave' is not a key=value pair")


def test_launch_takes_the_confirmation_from_extra_vars_too(monkeypatch, capsys):
    monkeypatch.setattr(cmd_launch, "read_secrets", lambda names: {})
    ran = []
    monkeypatch.setattr(cmd_launch, "run_playbook", lambda playbook, args, extravars, **kw: ran.append(extravars) or 0)
    assert nexusctl_main.main(["launch", "--mode", "soft", "-e", "nexus_launch_confirm=true"]) == 0
    assert ran[0]["nexus_launch_confirm"] is True
    assert nexusctl_main.main(["launch", "--mode", "soft", "-e", "nexus_launch_confirm=no"]) == 1
    assert nexusctl_main.main(["launch", "--mode", "soft", "-e", "nexus_launch_confirm=maybe"]) == 2
    assert "-e nexus_launch_confirm=maybe: expected true or false" in capsys.readouterr().err
    assert len(ran) == 1


def test_the_cli_end_to_end_refuses_bad_extra_vars():
    # Through bin/nexusctl, as an operator types it.
    done = subprocess.run([os.path.join(playbook_run.ROOT, "bin", "nexusctl"), "-e", "@/nonexistent/x.yml",
                           "deploy"], capture_output=True, text=True, check=False,
                          env=dict(os.environ, NEXUSCTL_PYTHON=sys.executable))
    assert done.returncode == 2
    assert done.stderr.startswith("nexusctl: -e @/nonexistent/x.yml: no such file /nonexistent/x.yml")


# ---------------------------------------------------------------- pinned variables and secrets

@pytest.mark.parametrize("argv", [
    ["-e", "nexus_environment=test", "marketplace", "enable", "--phase", "3", "--step", "1"],
    ["marketplace", "enable", "--phase", "3", "--step", "1", "-e", '{"nexus_environment": "test"}'],
    ["deploy", "-e", "@pinned.yml"],
])
def test_a_pinned_variable_is_refused_before_any_run(files, monkeypatch, capsys, argv):
    (files / "pinned.yml").write_text("nexus_environment: test\n")
    monkeypatch.setattr(playbook_run, "run_ansible_runner", lambda *a, **kw: pytest.fail("ran ansible-runner"))
    assert nexusctl_main.main(["-i", str(files)] + argv) == 2
    assert capsys.readouterr().err == (
        "nexusctl: Stop: nexus_environment was given with -e (extra vars), but it is pinned (the environment, which "
        "decides whether the test clock nexus_clock_now is allowed): one operator cannot change it from the command "
        "line; set it in the inventory (group_vars or host_vars), a reviewed change, and run without the -e\n")


def test_a_launch_with_a_pinned_variable_or_a_secret_asks_for_nothing(monkeypatch, capsys):
    monkeypatch.setattr(cmd_launch, "read_secrets", lambda *a: pytest.fail("asked for secrets"))
    monkeypatch.setattr(cmd_launch, "run_playbook", lambda *a, **kw: pytest.fail("ran the playbook"))
    assert nexusctl_main.main(["launch", "--mode", "global", "--confirm", "--approver", "alice",
                               "-e", '{"nexus_launch_approvers": {"mallory": {}}}']) == 2
    assert capsys.readouterr().err.startswith("nexusctl: Stop: nexus_launch_approvers was given with -e")
    assert nexusctl_main.main(["launch", "--mode", "global", "--confirm",
                               "-e", '{"nexus_launch_approvals": [{"name": "bob", "secret": "bobs-s3cret"}]}']) == 2
    err = capsys.readouterr().err
    assert err == ("nexusctl: Stop: nexus_launch_approvals[0] (approver bob) carries a secret given with -e (extra "
                   "vars), which every record of the run keeps; refused, and not shown: give it as "
                   "NEXUS_APPROVER_BOB_SECRET in the environment, in the approvals file nexusctl launch --approver bob "
                   "writes from its prompt, or as a vault-encrypted value in the inventory\n")


def test_nexusctl_never_passes_a_pinned_variable_itself(files, monkeypatch, capsys):
    monkeypatch.setattr(playbook_run, "run_ansible_runner", lambda *a, **kw: pytest.fail("ran ansible-runner"))
    args = nexusctl_main.parse(["-i", str(files), "deploy"])[1]
    assert playbook_run.run_playbook("phase4.yml", args, extravars={"nexus_audit_dir": "/var/tmp/x"}) == 2
    assert capsys.readouterr().err.startswith("nexusctl: Stop: nexus_audit_dir was given with -e (extra vars)")
