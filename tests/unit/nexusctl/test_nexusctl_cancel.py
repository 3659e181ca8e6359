"""Canceling nexusctl while it runs the launch guard (playbooks/guard.yml,
the real one) against this machine and the gateway double: SIGINT to its
process group (Ctrl-C at a terminal), SIGTERM, SIGHUP (the terminal
closed) and `timeout`. Each must end ansible-playbook and every process it
started, leave the guard's end record, exit 5 saying which signal, and no
switch may be pulled afterwards even when the platform then breaks.

Every process of the run carries a marker in its environment (an ANSIBLE_
name: ansible-runner passes those on), so what survives is found by
walking /proc."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import playbook_run

from ansible_collections.nexus_cos.launch.tests.unit.utils.play_target import Target

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="walks /proc")

MARK = "ANSIBLE_NEXUS_CANCEL_TEST_MARK"
GUARD = ["guard", "--minutes", "5", "-e", "launch_guard_interval=1", "-e", "launch_guard_unavailable_seconds=0",
         "-e", "launch_guard_verify_timeout=1"]


@pytest.fixture
def target(tmp_path):
    t = Target(tmp_path)
    yield t
    t.close()


def marked(mark):
    """Pids of the live processes whose environment holds ``mark``."""
    needle = ("%s=%s" % (MARK, mark)).encode()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as handle:
                if needle not in handle.read().split(b"\0"):
                    continue
            with open("/proc/%s/stat" % name, "rb") as handle:
                if handle.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X"):
                    continue
        except OSError:
            continue
        out.append(int(name))
    return out


def start(target, prefix=()):
    mark = uuid.uuid4().hex
    collections = os.path.join(os.path.realpath(playbook_run.ROOT), ".collections")
    env = dict(os.environ, PYTHONPATH=collections, **{MARK: mark})
    argv = list(prefix) + [sys.executable, "-m", "ansible_collections.nexus_cos.launch.nexusctl",
                           "-i", str(target.inventory)] + GUARD
    # A session of its own, as a shell gives a job: Ctrl-C reaches its group.
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    return proc, mark


def wait_for_the_watch(target, proc, looks=2, timeout=60):
    """Until the guard has looked ``looks`` times (its progress lines)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "nexusctl ended before the guard watched: %s" % (proc.communicate(),)
        if os.path.isdir(target.audit_dir) and any(event == "GUARD_START" for event, dummy in target.events()):
            time.sleep(looks)
            return
        time.sleep(0.2)
    raise AssertionError("the guard never started")


def assert_canceled(target, proc, mark, name, rc=5, record_signal=None):
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == rc, (out, err)
    assert ("nexusctl: the run did not finish: canceled by %s; ansible-playbook and every process it started "
            "have ended." % name) in err, err
    assert "what run " in err and "nexusctl status -i %s" % target.inventory in err
    assert marked(mark) == [], "processes of the run outlived nexusctl"
    ends = [fields for event, fields in target.events() if event == "GUARD_END"]
    assert len(ends) == 1 and ends[0]["outcome"] == "canceled", ends
    assert ends[0]["signal"] == (record_signal or name)
    # The platform breaks now: a guard left behind would pull the switch
    # at its next look (interval 1 s, threshold 0 s).
    before = target.bytes()
    target.double.fault(health_status=503)
    time.sleep(3)
    assert target.bytes() == before, "the kill switch was pulled after the cancel"
    assert [event for event, dummy in target.events() if event.startswith(("EMERGENCY", "GUARD_BREACH"))] == []


@pytest.mark.parametrize("how, name, record", [
    ("group", "SIGINT", "SIGINT"),      # Ctrl-C: the terminal signals the foreground process group
    ("process", "SIGTERM", "SIGTERM"),
    ("process", "SIGHUP", "SIGTERM"),   # ansible ignores HUP under the pseudo-terminal: passed on as TERM
])
def test_a_signal_ends_the_guard_and_everything_it_started(target, how, name, record):
    proc, mark = start(target)
    try:
        wait_for_the_watch(target, proc)
        assert len(marked(mark)) >= 3, "expected nexusctl, ansible-playbook and its worker to carry the mark"
        signum = getattr(signal, name)
        if how == "group":
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        assert_canceled(target, proc, mark, name, record_signal=record)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils timeout")
def test_timeout_ends_the_guard(target):
    # Long enough for ansible-playbook to start and the guard to look; timeout
    # itself exits 124 when it had to stop the command.
    began = time.monotonic()
    proc, mark = start(target, prefix=["timeout", "12"])
    try:
        wait_for_the_watch(target, proc, looks=1)
        assert time.monotonic() - began < 12, "the guard took too long to start for this test"
        assert_canceled(target, proc, mark, "SIGTERM", rc=124)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_ctrl_c_on_plain_ansible_playbook_leaves_nothing_behind(target):
    # No nexusctl: ansible-playbook at a terminal, Ctrl-C to its process group.
    # Ansible passes SIGINT to its worker, then terminates it; the guard's
    # handler still writes its end record, and no process stays.
    mark = uuid.uuid4().hex
    root = os.path.realpath(playbook_run.ROOT)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"), **{MARK: mark})
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(target.inventory),
            os.path.join(root, "playbooks", "guard.yml")] + GUARD[5:] + ["-e", "launch_guard_minutes=5"]
    proc = subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        wait_for_the_watch(target, proc)
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
        assert proc.returncode != 0
        deadline = time.monotonic() + 10
        while marked(mark) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marked(mark) == [], "processes of the run outlived ansible-playbook by 10 s"
        ends = [fields for event, fields in target.events() if event == "GUARD_END"]
        assert [(e["outcome"], e["signal"]) for e in ends] == [("canceled", "SIGINT")]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
