# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""A run cut short (ansible-playbook killed, a module's result lost,
ansible-runner's time limit): nexusctl says what happened and what to do
next, and claims nothing about the host it did not read. The end-to-end
cases really kill the run, on localhost."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.tests.unit.utils import local_target
import pytest

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.nexusctl import cmd_status, playbook_run
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import CUT_OFF, interruption


class Result(object):
    def __init__(self, status, rc, stats=None):
        self.status, self.rc, self.stats = status, rc, stats

    @property
    def stdout(self):
        raise OSError("no stdout artifact")


@pytest.mark.parametrize("result, messages, said", [
    (Result("failed", None), [], "ansible-playbook was killed before it could exit (by a signal"),
    (Result("timeout", 254), [], "ansible-runner stopped the run at its time limit"),
    (Result("canceled", 254), [], "the run was canceled"),
    (Result("failed", 2), [("vps1", "Module result deserialization failed: No start of json char found")],
     "a module's result never came back from vps1 (%s): the module was cut off mid-run" % CUT_OFF),
    (Result("failed", 2), [("vps1", "precheck disk: only 2 GB free")], None),
    (Result("failed", 4), [], None),
    (Result("successful", 0), [], None),
])
def test_interruption_in_words(result, messages, said):
    what = interruption(result, messages)
    assert what == said if said is None else what.startswith(said)


# Killing the run from inside it: the topmost ansible-playbook process
# above this task (the workers are its forks).
KILL_RUN = """    - name: Kill ansible-playbook
      ansible.builtin.shell: |
        p=$PPID; top=
        while [ "$p" -gt 1 ]; do
          if tr '\\0' ' ' < /proc/$p/cmdline | grep -q ansible-playbook; then top=$p; fi
          p=$(awk '{print $4}' /proc/$p/stat)
        done
        kill -9 $top
        sleep 5
"""
# Killing the module's own process: its result never comes back.
CUT_MODULE = """    - name: Kill this module
      ansible.builtin.shell: kill -9 $PPID
"""
PLAY = "---\n- name: Stand-in\n  hosts: nexus_vps\n  gather_facts: false\n  tasks:\n"


@pytest.mark.parametrize("tasks, said", [
    (KILL_RUN, "nexusctl: the run did not finish: ansible-playbook was killed before it could exit"),
    (CUT_MODULE, "nexusctl: the run did not finish: a module's result never came back from testhost "
                 "(Module result deserialization failed)"),
])
def test_a_killed_run_says_what_happened_and_what_next(tmp_path, monkeypatch, capsys, tasks, said):
    target = local_target.use(tmp_path, monkeypatch,
                              {"marketplace.yml": PLAY + local_target.RUN_CONTEXT + tasks})
    argv = ["-i", target["inventory"], "marketplace", "enable", "--phase", "3", "--step", "1"]
    assert nexusctl_main.main(argv) == 4
    err = capsys.readouterr().err
    assert said in err
    assert "ansible-runner ended with" not in err
    assert "what run 20261128T103000Z-test01 changed on the host before that is not known here. Next:" in err
    assert "nexusctl status -i %s" % target["inventory"] in err
    assert "nexusctl unlock -i %s --reason TEXT" % target["inventory"] in err
    assert "nexusctl rollback -i %s 20261128T103000Z-test01" % target["inventory"] in err
    assert "sudo <nexus_audit_dir, default /var/log/nexus-cos/phase4-audit>/nexus-rollback-20261128T103000Z.sh" in err
    [runner_dir] = list(target["runner"].iterdir())
    assert err.rstrip().endswith("nexusctl: ansible-runner's records of the run: %s" % runner_dir)


def test_without_a_run_id_nothing_is_made_up(tmp_path, monkeypatch, capsys):
    target = local_target.use(tmp_path, monkeypatch, {"phase4.yml": PLAY + KILL_RUN})
    assert nexusctl_main.main(["-i", target["inventory"], "deploy"]) == 4
    err = capsys.readouterr().err
    assert "what the run changed on the host before that is not known here" in err
    assert "nexusctl rollback -i %s RUN: " % target["inventory"] in err
    assert "/nexus-rollback-<run stamp>.sh" in err


def test_a_killed_status_query_says_it_changed_nothing(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(cmd_status, "run_ansible_runner", lambda prefix, **kw: (Result("failed", None), "/r/x"))
    assert nexusctl_main.main(["-i", str(tmp_path), "status"]) == 4
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "nexusctl: the run did not finish: ansible-playbook was killed before it could exit (by a signal: kill, "
        "the OOM killer, a closed session).",
        "nexusctl: this command only reads, so it changed nothing; run it again",
        "nexusctl: ansible-runner's records of the run: /r/x"]


def test_an_ordinary_failure_is_still_a_refusal(tmp_path, monkeypatch, capsys):
    fail = "    - name: Refuse\n      ansible.builtin.fail:\n        msg: gate refused\n"
    target = local_target.use(tmp_path, monkeypatch, {"phase4.yml": PLAY + fail})
    assert nexusctl_main.main(["-i", target["inventory"], "deploy"]) == 1
    captured = capsys.readouterr()
    assert "gate refused" in captured.out and "did not finish" not in captured.err


def test_interrupted_operator_is_pointed_at_status(monkeypatch, capsys):
    def interrupt(playbook, args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(playbook_run, "run_playbook", interrupt)
    from ansible_collections.nexus_cos.launch.nexusctl import cmd_rollback
    monkeypatch.setattr(cmd_rollback, "run_playbook", interrupt)
    assert nexusctl_main.main(["rollback"]) == 5
    assert ("nexusctl: canceled by SIGINT; if a run was under way, `nexusctl status` shows the deployment lock and "
            "the flags as they are now") in capsys.readouterr().err
