# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Canceling a run: nexusctl got SIGINT (Ctrl-C), SIGTERM (kill, `timeout`)
or SIGHUP (the terminal closed) while ansible-runner ran ansible-playbook.

ansible-runner alone is not enough: its own cancel SIGKILLs
ansible-playbook's process group, but ansible's workers each start a
session of their own (setsid), so a worker survives it, reparented to pid 1,
and carries on with its task; the launch guard's worker went on watching
and pulled the switch unseen. So while a run goes:

- nexusctl handles INT, TERM and HUP itself: the first one is remembered
  and passed on to ansible-playbook at once (INT as INT, TERM and HUP as
  TERM: ansible ignores HUP under ansible-runner's pseudo-terminal), so
  ansible passes it to its workers by its own rules and a task that
  handles it (the launch guard) writes its end record; ansible-runner's
  cancel callback then reports the run canceled;
- nexusctl is the child subreaper of what it starts (Linux), so a worker
  whose ansible-playbook is gone stays nexusctl's descendant;
- once ansible-runner returns, nexusctl waits up to GRACE_SECONDS for
  ansible's workers to end, then sends SIGTERM to every other descendant
  left (a module's process, an ssh master) and SIGKILL to whatever is still
  there KILL_AFTER_SECONDS later. Nothing the run started outlives nexusctl.
"""

from __future__ import annotations

import os
import signal
import time

CANCEL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# What ansible-playbook is sent for each: ansible handles INT and TERM.
PASSED_ON = {signal.SIGINT: signal.SIGINT, signal.SIGTERM: signal.SIGTERM, signal.SIGHUP: signal.SIGTERM}
# Long enough for a look of the guard (its request timeout, 3 s by default)
# and its end record (one module execution), short enough for "within seconds".
GRACE_SECONDS = 15.0
KILL_AFTER_SECONDS = 3.0
POLL_SECONDS = 0.1
PR_SET_CHILD_SUBREAPER = 36
PLAYBOOK_MARK = "ansible-playbook"


def _processes():
    """{pid: (ppid, pgid, state, cmdline)} of every process in /proc; {}
    where there is no /proc."""
    out = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as handle:
                stat = handle.read().decode("utf-8", "replace")
            with open("/proc/%s/cmdline" % name, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue    # gone meanwhile
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) < 3:
            continue
        out[int(name)] = (int(fields[1]), int(fields[2]), fields[0], cmdline)
    return out


def descendants(root=None, table=None):
    """{pid: (ppid, pgid, state, cmdline)} of the live (not zombie)
    descendants of ``root`` (default this process)."""
    root = os.getpid() if root is None else root
    table = _processes() if table is None else table
    children = {}
    for pid, info in table.items():
        children.setdefault(info[0], []).append(pid)
    out, todo = {}, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid in out:
            continue
        out[pid] = table[pid]
        todo.extend(children.get(pid, []))
    return dict((pid, info) for pid, info in out.items() if info[2] not in ("Z", "X"))


def _subreaper(on):
    """Become (or stop being) the child subreaper of this process's
    descendants; False where the system has no such thing."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _send(pid, signum):
    try:
        os.kill(pid, signum)
    except OSError:
        pass    # gone already


def _reap():
    """Collect the exit status of every child that ended (orphans handed
    to us as subreaper); only once ansible-runner has collected its own."""
    while True:
        try:
            pid, dummy = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Cancellation(object):
    """Around one ansible-runner run: ``with Cancellation() as cancel:
    ansible_runner.run(..., cancel_callback=cancel)``, then
    ``cancel.finish()`` once it returned. ``signal_name`` is the signal that
    canceled it, None when none came."""

    grace = GRACE_SECONDS
    kill_after = KILL_AFTER_SECONDS

    def __init__(self):
        self.signum = None
        self.killed = []        # what had to be killed: (pid, cmdline)
        self._saved = {}
        self._reaper = False

    @property
    def signal_name(self):
        return signal.Signals(self.signum).name if self.signum else None

    def __call__(self):
        """ansible-runner's cancel callback."""
        return self.signum is not None

    def __enter__(self):
        self._reaper = _subreaper(True)
        for signum in CANCEL_SIGNALS:
            self._saved[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved = {}
        if self._reaper:
            _subreaper(False)
            self._reaper = False
        return False

    def _on_signal(self, signum, frame):
        if self.signum is None:
            self.signum = signum
        # ansible-playbook is the child ansible-runner started (through
        # pexpect: a session of its own, so no terminal signal reached it).
        for pid, info in descendants().items():
            if info[0] == os.getpid() and PLAYBOOK_MARK in info[3]:
                _send(pid, PASSED_ON[signum])

    def finish(self):
        """After a cancel: every descendant ended, by itself or killed.
        Returns the list of what had to be killed."""
        if self.signum is None:
            return self.killed
        deadline = time.monotonic() + self.grace
        told = set()
        while True:
            _reap()
            left = descendants()
            workers = dict((pid, info) for pid, info in left.items() if PLAYBOOK_MARK in info[3])
            for pid in workers:
                if pid not in told:
                    # A worker ansible never told (the cancel came before
                    # ansible-playbook had its handlers): told now, once.
                    told.add(pid)
                    _send(pid, PASSED_ON[self.signum])
            if not left or not workers or time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
        # The workers are done (or out of time): nothing else may stay.
        for signum, wait in ((signal.SIGTERM, self.kill_after), (signal.SIGKILL, self.kill_after)):
            left = descendants()
            if not left:
                break
            for pid, info in left.items():
                if signum == signal.SIGKILL:
                    self.killed.append((pid, info[3]))
                _send(pid, signum)
            until = time.monotonic() + wait
            while descendants() and time.monotonic() < until:
                _reap()
                time.sleep(POLL_SECONDS)
        _reap()
        return self.killed
