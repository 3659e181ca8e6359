# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""What ansible-runner gets of the operator's environment: the allow-list,
and, end to end, that a secret exported in the shell is in none of
ansible-runner's records and not in the environment of the run itself,
for every nexusctl command. The end-to-end test runs the real nexusctl and
ansible-runner against localhost (a local connection; stand-in playbooks
under the real names, the real activation_info module for status); a
second form runs against the sandbox VPS when it is up."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import uuid

from ansible_collections.nexus_cos.launch.tests.unit.utils import local_target as local_target_module
import pytest

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.nexusctl import host_paths
from ansible_collections.nexus_cos.launch.nexusctl import playbook_run
from ansible_collections.nexus_cos.launch.nexusctl import state_dir

SECRET_NAMES = ("NEXUS_APPROVER_ALICE_SECRET", "MY_API_TOKEN", "AWS_SECRET_ACCESS_KEY", "ANSIBLE_VAULT_PASSWORD",
                "ANSIBLE_GALAXY_SERVER_RELEASE_TOKEN")


# ---------------------------------------------------------------- the allow-list

def test_allow_list_keeps_what_ansible_needs_and_nothing_else():
    environ = {
        "PATH": "/usr/bin", "HOME": "/home/ops", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm",
        "SSH_AUTH_SOCK": "/tmp/agent.sock", "ANSIBLE_VAULT_PASSWORD_FILE": "/home/ops/.vault-pass",
        "ANSIBLE_PRIVATE_KEY_FILE": "/home/ops/.ssh/id_ed25519", "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_FORKS": "20", "DOCKER_HOST": "ssh://ops@vps1", "NEXUS_SANDBOX_DOCKER_HOST": "unix:///run/p.sock",
        "NEXUS_LAUNCH_APPROVALS_FILE": "/dev/shm/x/approvals.json", "https_proxy": "http://proxy:3128",
        # dropped: not for ansible
        "NEXUS_APPROVER_ALICE_SECRET": "s1", "MY_API_TOKEN": "s2", "AWS_SECRET_ACCESS_KEY": "s3",
        "EDITOR": "vi", "CONTAINER_NAME": "ci-box",
        # held back: allowed names that carry a secret
        "ANSIBLE_VAULT_PASSWORD": "s4", "ANSIBLE_GALAXY_SERVER_RELEASE_TOKEN": "s5",
        "HTTPS_PROXY": "http://ops:s6@proxy:3128",
    }
    env, held_back = playbook_run.allowed_environment(environ)
    assert env == dict((k, environ[k]) for k in (
        "PATH", "HOME", "LANG", "LC_ALL", "TERM", "SSH_AUTH_SOCK", "ANSIBLE_VAULT_PASSWORD_FILE",
        "ANSIBLE_PRIVATE_KEY_FILE", "ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_FORKS", "DOCKER_HOST",
        "NEXUS_SANDBOX_DOCKER_HOST", "NEXUS_LAUNCH_APPROVALS_FILE", "https_proxy"))
    assert held_back == ["ANSIBLE_GALAXY_SERVER_RELEASE_TOKEN", "ANSIBLE_VAULT_PASSWORD", "HTTPS_PROXY"]


def test_runner_environment_points_at_this_collection_and_names_what_it_held_back():
    out = io.StringIO()
    env = playbook_run.runner_environment({"PATH": "/usr/bin", "ANSIBLE_VAULT_PASSWORD": "hunter2",
                                           "ANSIBLE_CONFIG": "/elsewhere.cfg"}, stream=out)
    assert env["ANSIBLE_CONFIG"] == os.path.join(playbook_run.ROOT, "ansible.cfg")
    assert env["PATH"] == os.path.dirname(sys.executable) + os.pathsep + "/usr/bin"
    assert env["ANSIBLE_COLLECTIONS_PATH"].startswith(os.path.join(playbook_run.ROOT, ".collections") + os.pathsep)
    assert "ANSIBLE_VAULT_PASSWORD" not in env
    assert out.getvalue().startswith("nexusctl: ANSIBLE_VAULT_PASSWORD is not passed to the run: it looks like a "
                                     "secret")
    assert "hunter2" not in out.getvalue()


def test_process_environment_is_restored_even_after_an_error(monkeypatch):
    monkeypatch.setenv("MY_API_TOKEN", "t0ken")
    with pytest.raises(RuntimeError):
        with playbook_run._process_environment({"PATH": "/bin"}):
            assert dict(os.environ) == {"PATH": "/bin"}
            raise RuntimeError("run failed")
    assert os.environ["MY_API_TOKEN"] == "t0ken"


# ---------------------------------------------------------------- end to end, localhost

PLAYBOOK = """---
- name: Stand-in for playbooks/{name}
  hosts: nexus_vps
  gather_facts: false
  tasks:
    - name: Write the environment the run and its modules see
      ansible.builtin.shell: env > {dumps}/{name}.env
      changed_when: false
    - name: The -e arguments arrive as ansible-playbook reads them
      ansible.builtin.assert:
        that: note == "two words" and count == "3"
    - name: The launch reads the approvals through the file nexusctl names
      ansible.builtin.assert:
        that: lookup('ansible.builtin.env', 'NEXUS_LAUNCH_APPROVALS_FILE') is file
      when: {launch}
"""

# Every nexusctl command that starts ansible-runner, with the target
# options before, between and after the command.
COMMANDS = [
    ["-i", "INV", "deploy", "-e", "NOTE"],
    ["deploy", "-i", "INV", "--check", "-e", "NOTE"],
    ["-e", "NOTE", "precheck", "-i", "INV", "--skip", "memory"],
    ["-i", "INV", "-e", "NOTE", "unlock", "--reason", "run is gone"],
    ["-i", "INV", "marketplace", "-e", "NOTE", "enable", "--phase", "3", "--step", "1"],
    ["-i", "INV", "-e", "NOTE", "launch", "--mode", "global", "--confirm", "--approver", "alice"],
    ["-i", "INV", "-e", "NOTE", "rollback"],
    ["-i", "INV", "-e", "NOTE", "rollback", "--emergency", "--reason", "fraud wave"],
    ["-i", "INV", "-e", "NOTE", "audit", "verify"],
    ["status", "-i", "INV"],
    ["-i", "INV", "marketplace", "status"],
]
PLAYBOOKS = ("phase4.yml", "unlock.yml", "marketplace.yml", "launch.yml", "rollback.yml", "emergency.yml",
             "audit_verify.yml")


def _files_holding(top, needles):
    """[(path, needle)] of the files under ``top`` holding a needle."""
    found = []
    for base, dummy, names in os.walk(top):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as handle:
                data = handle.read()
            found.extend((path, needle) for needle in needles if needle.encode() in data)
    return found


@pytest.fixture
def local_target(tmp_path, monkeypatch):
    dumps = tmp_path / "env"
    dumps.mkdir()
    target = local_target_module.use(tmp_path, monkeypatch, dict(
        (name, PLAYBOOK.format(name=name, dumps=dumps, launch=name == "launch.yml")) for name in PLAYBOOKS))
    target.update(dumps=dumps, artifacts=tmp_path / "artifacts")
    return target


def test_no_command_leaks_a_secret_into_the_records_or_the_run(local_target, monkeypatch, capsys):
    canary = "canary-%s" % uuid.uuid4().hex
    secrets = dict((name, "%s-%d" % (canary, n)) for n, name in enumerate(SECRET_NAMES))
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NEXUS_OPERATOR", "operator-%s" % canary)      # allowed: must arrive
    for argv in COMMANDS:
        argv = [local_target["inventory"] if w == "INV" else 'note="two words" count=3' if w == "NOTE" else w
                for w in argv]
        assert nexusctl_main.main(argv) == 0, (argv, capsys.readouterr())
    err = capsys.readouterr().err
    assert "ANSIBLE_VAULT_PASSWORD is not passed to the run" in err
    assert canary not in err
    # Something to search: every run left its command line and environment.
    runs = os.listdir(local_target["runner"])
    assert len(runs) == len(COMMANDS)
    commands = [os.path.join(base, "command") for base, dummy, names in os.walk(local_target["artifacts"])
                if "command" in names]
    assert len(commands) == len(COMMANDS)
    assert _files_holding(local_target["artifacts"], secrets.values()) == []
    # The run's own environment (what its modules inherited): the
    # operator name it needs is there, no secret is.
    dumps = sorted(os.listdir(local_target["dumps"]))
    assert dumps == sorted(name + ".env" for name in PLAYBOOKS)
    for name in dumps:
        text = (local_target["dumps"] / name).read_text()
        assert "NEXUS_OPERATOR=operator-%s" % canary in text
        assert "ANSIBLE_CONFIG=%s" % os.path.join(playbook_run.ROOT, "ansible.cfg") in text
        assert [value for value in secrets.values() if value in text] == []
    # nexusctl's own process gets its environment back.
    assert all(os.environ[name] == value for name, value in secrets.items())


# ---------------------------------------------------------------- end to end, the sandbox VPS

SANDBOX = "nexus-cos-sandbox"
SANDBOX_INVENTORY = os.path.join(playbook_run.ROOT, "inventories", "sandbox")
HOST_AUDIT_DIR = host_paths.host_default("nexus_audit_dir")


def _sandbox_state():
    """None when the sandbox VPS is up and settled, else why this test cannot use it."""
    if shutil.which("podman") is None:
        return "podman is not installed"
    # podman may call a container running after the machine restarted; only an exec tells.
    done = subprocess.run(["podman", "exec", SANDBOX, "systemctl", "is-system-running"],
                          capture_output=True, text=True, check=False)
    state = done.stdout.strip()
    if state in ("running", "degraded"):
        return None
    said = state or (done.stderr.strip().splitlines() or ["no answer"])[-1]
    return "sandbox VPS %s is not up (%s): make sandbox-up" % (SANDBOX, said)


@pytest.mark.skipif(_sandbox_state() is not None, reason=str(_sandbox_state()))
def test_no_secret_reaches_the_sandbox_or_the_records(tmp_path, monkeypatch, capsys):
    canary = "canary-%s" % uuid.uuid4().hex
    secrets = dict((name, "%s-%d" % (canary, n)) for n, name in enumerate(SECRET_NAMES))
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(playbook_run, "RUNNER_DIR", str(tmp_path / "runner"))
    started = time.time()
    # The prepare run (changes no flag), then read-only commands over the trail it left.
    code = nexusctl_main.main(["-i", SANDBOX_INVENTORY, "deploy"])
    out = capsys.readouterr().out
    # The sandbox is shared: another run may hold its lock. The refused run
    # still went through ansible-runner and wrote its LOCK_REFUSED record.
    assert code == 0 or (code == 1 and "deployment lock" in out and "is held by run" in out), out
    for argv in (["-i", SANDBOX_INVENTORY, "status"], ["-i", SANDBOX_INVENTORY, "audit", "verify"]):
        assert nexusctl_main.main(argv) == 0, (argv, capsys.readouterr())
    assert len(os.listdir(tmp_path / "runner")) == 3
    assert _files_holding(tmp_path / "runner", secrets.values()) == []
    # The controller reports the run wrote under artifacts/<run id>/.
    reports = state_dir.artifacts_dir(playbook_run.current_state()[0])
    fresh = [os.path.join(base, name) for base, dummy, names in os.walk(reports) for name in names
             if os.path.getmtime(os.path.join(base, name)) >= started - 1]
    assert fresh, "the prepare run wrote no controller report"
    assert [path for path in fresh if any(v.encode() in open(path, "rb").read() for v in secrets.values())] == []
    # And the host's audit trail.
    done = subprocess.run(["podman", "exec", SANDBOX, "grep", "-rlF", canary, HOST_AUDIT_DIR],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and done.stdout == "", done.stdout + done.stderr
