"""The console callback (plugins/callback/console.py) as ansible-playbook
prints with it, on this machine over a local connection: a failed Phase 4
precheck fits in one screen, the table once and unwrapped, each failure
once with its fix; an unexpected failure shows its message; a no_log
result stays censored; -v shows each task."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from ansible_collections.nexus_cos.launch.tests.unit.utils import core_messages
from ansible_collections.nexus_cos.launch.tests.unit.utils.play_target import Target
from ansible_collections.nexus_cos.launch.tests.unit.utils.gateway_double import ROOT

ROW = re.compile(r"^\s*(PASS|FAIL|WARN|SKIP)\s+(\d\d)\s+(\S+)\s")


def playbook(path, *args, **env):
    """(rc, stdout) of ansible-playbook with the checkout's ansible.cfg,
    whose stdout callback is the console."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", **env)
    env.pop("ANSIBLE_STDOUT_CALLBACK", None)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path)] + list(args),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout


@pytest.fixture
def target(tmp_path):
    t = Target(tmp_path)
    # The repository check fails whatever this machine has: its directory is not there.
    inventory = json.loads(t.inventory.read_text())
    inventory["all"]["children"]["nexus_vps"]["hosts"]["testhost"]["nexus_repo_dir"] = str(tmp_path / "no-repo")
    t.inventory.write_text(json.dumps(inventory))
    yield t
    t.close()


def precheck_report(target):
    [path] = [os.path.join(d, f) for d, dummy, files in os.walk(str(target.host / "artifacts"))
              for f in files if f == "precheck-testhost.json"]
    with open(path) as handle:
        return json.load(handle)["results"]


def test_a_failed_precheck_fits_one_screen_table_once_each_failure_once(target):
    rc, out = playbook(os.path.join(ROOT, "playbooks", "phase4.yml"), "-i", str(target.inventory))
    assert rc == 2, out
    lines = out.splitlines()
    assert len(lines) < 80, out
    results = precheck_report(target)
    failed = [r for r in results if r["status"] == "FAIL"]
    assert "repository" in [r["name"] for r in failed]
    # The table: one line per check, each holding the check's whole message (not wrapped).
    for r in results:
        rows = [line for line in lines if ROW.match(line) and ROW.match(line).group(3) == r["name"]]
        assert len(rows) == 1, (r["name"], out)
        assert rows[0].rstrip().endswith(r["msg"]), rows[0]
    assert len([line for line in lines if line.strip().startswith("#   check")]) == 1, out
    # Each failure once, its fix and its override right below it.
    for r in failed:
        header = "testhost: precheck %02d %s failed: %s" % (r["number"], r["name"], r["msg"])
        at = [i for i, line in enumerate(lines) if line.strip() == header]
        assert len(at) == 1, (header, out)
        assert lines[at[0] + 1].strip() == "fix: %s" % r["hint"]
        assert lines[at[0] + 2].strip().startswith("skip it: -e '{\"precheck_skip\": [\"%s\"]}'" % r["name"])
        assert out.count("precheck %02d %s failed" % (r["number"], r["name"])) == 1, out
    # One line per stage, then the run's summary and recap.
    assert re.search(r"^  FAILED +\d+\.\ds  precheck_report \(testhost\)$", out, re.M), out
    assert re.search(r"^  ok +\d+\.\ds  deploy_lock$", out, re.M), out
    assert "failed at: Run the prechecks on the host" in out
    assert re.search(r"^    run \S+: FAILED$", out, re.M), out
    assert re.search(r"^RECAP testhost: ok=\d+ changed=0 failed=1 .*rescued=1", out, re.M), out
    # No YAML dump of a result, no ansible error banner.
    assert "FAILED! =>" not in out and "fatal:" not in out and "    msg:" not in out


PLAY = """\
- name: Console checks
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say what the operator reads
      ansible.builtin.debug:
        msg: ["first line", "second line"]
    - name: Quiet step
      ansible.builtin.set_fact:
        quiet_fact: 1
    - name: Hold a secret
      ansible.builtin.command: /bin/sh -c 'echo top-secret-value >&2; exit 3'
      no_log: true
      ignore_errors: true
      register: held
    - name: Fail with a secret in the result
      ansible.builtin.fail:
        msg: "top-secret-value"
      no_log: true
      when: fail_secret | default(false) | bool
    - name: Run a command that breaks
      ansible.builtin.command: /bin/sh -c 'echo the disk is on fire >&2; exit 4'
"""


@pytest.fixture
def play(tmp_path):
    path = tmp_path / "play.yml"
    path.write_text(PLAY)
    return path


LOCAL = ("-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable)


def test_an_unexpected_failure_shows_its_message_and_ok_tasks_stay_quiet(play):
    rc, out = playbook(play, *LOCAL)
    assert rc == 2, out
    assert re.search(r"^  ok +\d+\.\ds  Say what the operator reads\n    first line\n    second line$", out, re.M), out
    assert re.search(r"^  FAILED +\d+\.\ds  Run a command that breaks \(localhost\)$", out, re.M), out
    assert "Run a command that breaks failed: The command exited with a non-zero return code." in core_messages.command_wording(out)
    assert "the disk is on fire" in out
    # At default verbosity a task that went well prints no line of its own.
    assert "quiet_fact" not in out and "Hold a secret" in out  # its stage line only
    assert "top-secret-value" not in out


def test_a_no_log_failure_stays_censored(play):
    rc, out = playbook(play, *LOCAL + ("-e", "fail_secret=true", "-vvv"))
    assert rc == 2, out
    assert "Fail with a secret in the result" in out
    assert "the output has been hidden due to the fact that 'no_log: true'" in out
    assert "top-secret-value" not in out


def test_verbose_shows_each_task(play):
    rc, out = playbook(play, *LOCAL + ("-v",))
    assert rc == 2, out
    assert re.search(r"^    ok +localhost: Quiet step$", out, re.M), out
    assert re.search(r"^    skipping +localhost: Fail with a secret in the result$", out, re.M), out
    rc, quiet = playbook(play, *LOCAL)
    assert "localhost: Quiet step" not in quiet
    rc, shown = playbook(play, *LOCAL, NEXUS_CONSOLE_SHOW_TASKS="true")
    assert re.search(r"^    ok +localhost: Quiet step$", shown, re.M), shown


def test_a_play_s_own_messages_alike_both_show(tmp_path):
    path = tmp_path / "rounds.yml"
    path.write_text("- name: Rounds\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
                    + "".join("    - name: Round %d\n      ansible.builtin.debug:\n        msg: wall_ms=120\n" % i
                              for i in (1, 2)))
    rc, out = playbook(path, *LOCAL)
    assert rc == 0, out
    assert out.count("wall_ms=120") == 2, out
