# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The deployment lock: one launch run at a time per host.

The lock file holds its holder as JSON (run id, user, controller, pid,
since, expires). It is created whole or not at all: the JSON goes to a temp
file that is then hard-linked to the lock path, which fails if the lock
exists. Every look-and-act (acquire, recover, release) happens under an
flock on a guard file, so two runs can never both judge a lock stale and
both take it.

A holder is gone when its lease has expired, or when it ran on this very
host and its process no longer exists. A run normally holds the lock for
seconds; the lease (default 30 minutes) bounds how long a run that died
with its controller blocks the next one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import create_atomic


class LockHeld(Exception):
    def __init__(self, path, holder, now):
        self.path = path
        self.holder = holder
        super().__init__(describe_refusal(path, holder, now))


class LockError(Exception):
    pass


def _stamp(epoch):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def describe_refusal(path, holder, now):
    since = holder.get("since")
    age = "%ds ago" % int(now - since) if isinstance(since, (int, float)) else "at an unknown time"
    when = _stamp(since) if isinstance(since, (int, float)) else "?"
    expires = holder.get("expires")
    return ("deployment lock %s is held by run %s (user %s on %s, pid %s) since %s (%s); "
            "its lease ends %s. Wait for that run to finish. If it is gone, the lock is recovered "
            "automatically when the lease ends, or break it now with: nexusctl unlock --reason TEXT"
            % (path, holder.get("run_id", "?"), holder.get("user", "?"), holder.get("controller", "?"),
               holder.get("pid", "?"), when, age,
               _stamp(expires) if isinstance(expires, (int, float)) else "?"))


@contextlib.contextmanager
def guard(path):
    fd = os.open(path + ".guard", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_holder(path, lease_seconds=1800):
    """Holder dict, or None when unlocked. A lock file this tool did not
    write (the old bash script wrote a bare pid) is respected for one lease
    from its modification time."""
    try:
        with open(path, "r") as handle:
            text = handle.read(65536)
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
        if not isinstance(holder, dict):
            raise ValueError("not an object")
        return holder
    except ValueError as exc:
        st = os.stat(path)
        return {"unreadable": "lock file is not the JSON this tool writes (%s)" % exc, "since": st.st_mtime,
                "run_id": "unknown", "expires": st.st_mtime + lease_seconds}


def pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError):
        return True
    return True


def gone_reason(holder, now, hostname=None):
    """Why the holder is gone, or None while it may still be running."""
    hostname = hostname or socket.gethostname()
    if holder.get("controller") == hostname and holder.get("pid") and not pid_alive(holder["pid"]):
        return "process %s on this host has exited" % holder["pid"]
    expires = holder.get("expires")
    if not isinstance(expires, (int, float)):
        return "lock file has no lease"
    if now >= expires:
        return "lease ended %s" % _stamp(expires)
    return None


def _link_new(path, holder):
    create_atomic(path, json.dumps(holder, sort_keys=True) + "\n", mode=0o644)


def acquire(path, holder, lease_seconds, now=None, check_mode=False, recover=None):
    """Take the lock for ``holder`` (run_id, user, controller, pid).

    Returns (state, previous) where state is 'acquired', 'recovered' (a gone
    holder's lock was taken over; previous is that holder with a 'reason') or
    'held' (already ours: the same run id). Raises LockHeld otherwise.

    ``recover`` is ``(run_id, reason)``: the caller has established that the
    run holding the lock is gone (its controller process exited) and takes it
    over if, and only if, that run still holds it."""
    now = time.time() if now is None else now
    record = dict(holder, since=now, expires=now + lease_seconds, lock_host=socket.gethostname())
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise LockError("lock directory %s does not exist" % directory)
    with guard(path):
        current = read_holder(path, lease_seconds)
        previous = None
        if current is not None:
            if current.get("run_id") == holder["run_id"]:
                return "held", None
            reason = gone_reason(current, now)
            if reason is None and recover and current.get("run_id") == recover[0]:
                reason = recover[1]
            if reason is None:
                raise LockHeld(path, current, now)
            previous = dict(current, reason=reason)
            if not check_mode:
                os.unlink(path)
        if not check_mode:
            try:
                _link_new(path, record)
            except OSError as exc:
                if exc.errno == errno.EEXIST:  # only possible if someone bypassed the guard
                    raise LockHeld(path, read_holder(path) or {}, now)
                raise
        return ("recovered" if previous else "acquired"), previous


def release(path, run_id, check_mode=False):
    """Remove the lock if ``run_id`` holds it. Returns 'released', 'absent'
    or 'not-ours' (another run's lock is never removed)."""
    with guard(path):
        current = read_holder(path)
        if current is None:
            return "absent", None
        if current.get("run_id") != run_id:
            return "not-ours", current
        if not check_mode:
            os.unlink(path)
        return "released", current


def force_break(path, check_mode=False):
    """Remove whatever lock there is (operator's explicit break)."""
    with guard(path):
        current = read_holder(path)
        if current is not None and not check_mode:
            os.unlink(path)
        return ("broken" if current else "absent"), current


def assert_held(path, run_id):
    """For state-changing modules: refuse to act unless this run holds the lock."""
    current = read_holder(path)
    if current is None or current.get("run_id") != run_id:
        raise LockError("run %s does not hold the deployment lock %s (holder: %s)"
                        % (run_id, path, (current or {}).get("run_id", "nobody")))
