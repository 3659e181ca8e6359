"""nexusctl/run_cancel.py: the process tree it walks, what a process that
ignores the cancel gets, and how a canceled run is said. The end-to-end
cases (a real run, each signal) are in test_nexusctl_cancel.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import run_cancel
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import exit_code_of_interruption, interruption

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="walks /proc")


class Result(object):
    status, rc, stats = "canceled", 254, {}

    def __init__(self, canceled_by, killed=()):
        self.canceled_by, self.killed = canceled_by, list(killed)


def test_descendants_follow_the_parent_links_and_leave_zombies_out():
    table = {10: (1, 10, "S", "nexusctl"), 11: (10, 11, "S", "ansible-playbook"), 12: (11, 12, "S", "worker"),
             13: (12, 12, "R", "module"), 14: (12, 12, "Z", "module gone"), 20: (1, 20, "S", "other")}
    assert sorted(run_cancel.descendants(10, table)) == [11, 12, 13]


def test_a_canceled_run_in_words_and_its_exit_code():
    assert interruption(Result("SIGTERM")) == (
        "canceled by SIGTERM; ansible-playbook and every process it started have ended")
    said = interruption(Result("SIGINT", [(4242, "/usr/bin/python3 /usr/bin/ansible-playbook guard.yml")]))
    assert said.startswith("canceled by SIGINT; 1 of the processes it started did not end within 15 s of the signal "
                           "and were killed (SIGKILL), so their end records may be missing: 4242 /usr/bin/python3")
    assert exit_code_of_interruption(Result("SIGHUP")) == 5
    assert exit_code_of_interruption(Result(None)) == 4


def test_after_a_cancel_nothing_started_stays_not_even_what_ignores_sigterm(monkeypatch):
    monkeypatch.setattr(run_cancel.Cancellation, "grace", 0.5)
    monkeypatch.setattr(run_cancel.Cancellation, "kill_after", 0.5)
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    with run_cancel.Cancellation() as cancel:
        child = subprocess.Popen([sys.executable, "-c", stubborn], start_new_session=True)
        time.sleep(0.3)     # its handler in place
        cancel.signum = signal.SIGTERM
        started = time.monotonic()
        killed = cancel.finish()
    assert time.monotonic() - started < 5
    assert [pid for pid, dummy in killed] == [child.pid]
    # finish() reaped it (nexusctl collects what it killed): gone from /proc.
    assert not os.path.exists("/proc/%d" % child.pid)
    assert cancel.signal_name == "SIGTERM" and cancel() is True


def test_without_a_cancel_finish_leaves_everything_alone():
    with run_cancel.Cancellation() as cancel:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            assert cancel.finish() == [] and child.poll() is None and cancel() is False
        finally:
            child.kill()
            child.wait()


def test_the_handlers_are_put_back():
    before = [signal.getsignal(s) for s in run_cancel.CANCEL_SIGNALS]
    with run_cancel.Cancellation():
        assert signal.getsignal(signal.SIGTERM) is not before[1]
    assert [signal.getsignal(s) for s in run_cancel.CANCEL_SIGNALS] == before
