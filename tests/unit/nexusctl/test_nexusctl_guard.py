"""nexusctl guard and the launch guard options of nexusctl launch (extra
vars by the role's own names), and the guard's progress lines shown from
ansible-runner's events. No playbook runs here."""

from __future__ import annotations

import io

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.nexusctl import cmd_guard, cmd_launch
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import Progress


def parse(*argv):
    return nexusctl_main.parse(list(argv))[1]


def test_guard_vars():
    assert cmd_guard.guard_vars(parse("guard")) == {}
    assert cmd_guard.guard_vars(parse("guard", "--minutes", "0.5", "--alert-only")) == {
        "launch_guard_minutes": 0.5, "launch_guard_on_critical": "alert"}


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "-inf", "1e999", "soon"])
def test_guard_minutes_must_be_a_finite_number_above_zero(capsys, value):
    with pytest.raises(SystemExit) as stopped:
        parse("guard", "--minutes=" + value)
    assert stopped.value.code == 2
    shown = repr(value) if value == "soon" else value
    assert capsys.readouterr().err.splitlines()[-1] == (
        "nexusctl guard: error: argument --minutes: expected a finite number of minutes > 0, got %s" % shown)


def test_guard_runs_its_playbook_with_the_target_options(monkeypatch):
    seen = {}
    monkeypatch.setattr(cmd_guard, "run_playbook", lambda playbook, args, **kw: seen.update(
        playbook=playbook, inventory=args.inventory, **kw) or 0)
    args = parse("guard", "-i", "inventories/production", "--minutes", "5")
    assert args.func(args) == 0
    assert seen == {"playbook": "guard.yml", "inventory": "inventories/production",
                    "extravars": {"launch_guard_minutes": 5.0}, "check": False}


def test_launch_guard_options():
    base = ("launch", "--mode", "global", "--confirm", "--approver", "alice")
    assert "launch_guard_minutes" not in cmd_launch.launch_vars(parse(*base))[0]
    assert cmd_launch.launch_vars(parse(*base, "--guard-minutes", "2"))[0]["launch_guard_minutes"] == 2.0
    assert cmd_launch.launch_vars(parse(*base, "--no-guard"))[0]["launch_guard_after_launch"] is False
    for value in ("-1", "inf", "nan"):
        with pytest.raises(SystemExit):
            parse(*base, "--guard-minutes", value)
    with pytest.raises(SystemExit):
        parse(*base, "--no-guard", "--guard-minutes", "2")


def verbose(text, action):
    return {"event": "verbose", "stdout": text, "event_data": {"task": "Watch the platform", "task_action": action,
                                                               "resolved_action": action}}


def test_progress_shows_the_guards_lines_and_nothing_else_said_aside():
    out = io.StringIO()
    progress = Progress(stream=out)
    progress(verbose("guard 0:25 left | /health HTTP 200 12 ms, mode public_full, 9 flags | ok",
                     "nexus_cos.launch.launch_guard"))
    progress(verbose("launch guard: CRITICAL after 30 s: the platform is unavailable for 30 s",
                     "nexus_cos.launch.launch_guard"))
    progress(verbose("something another action said", "ansible.builtin.command"))
    progress({"event": "verbose", "stdout": "Using /etc/ansible/ansible.cfg as config file", "event_data": {}})
    assert out.getvalue().splitlines() == [
        "            guard 0:25 left | /health HTTP 200 12 ms, mode public_full, 9 flags | ok",
        "            launch guard: CRITICAL after 30 s: the platform is unavailable for 30 s"]
