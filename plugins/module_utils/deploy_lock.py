# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The deployment lock: one launch run at a time per host, and the one rule
for taking it, taking it over and breaking it. The phase4 and activation
plays (deploy_lock module), the on-host rollback script and
``nexusctl unlock`` all go through this file, so they decide alike and say
the same thing (docs/rollback.md, "The deployment lock").

The lock file holds its holder as JSON (run id, user, controller, pid,
since, expires). It is created whole or not at all: the JSON goes to a temp
file that is then hard-linked to the lock path, which fails if the lock
exists. Every look-and-act (acquire, recover, release, break) happens under
an flock on a guard file, so two runs can never both judge a lock stale and
both take it.

Three kinds of lock file can be found at the path:

* this collection's JSON (kind ``nexus_cos.launch``);
* the platform's own deploy script's lock (``deploy-phase-4-full-launch.sh``
  uses the very same path): its bare pid, e.g. ``12345\\n``, left behind when
  a run of it was killed (kind ``platform-deploy-script``);
* anything else, e.g. an empty file or garbage (kind ``unrecognised``):
  nothing names a holder.

A holder is dead, and its lock is taken over (audited as
``LOCK_STALE_RECOVERED holder=<kind> ...``), when:

* its lease has ended (JSON; an unrecognised file gets one lease from its
  modification time);
* it is a JSON holder that ran on this very host and its process is gone;
* it is the platform script's bare pid and that process is not running;
* the caller knows it is gone (the action plugin: a run of this controller
  whose ansible-playbook process has exited).

Otherwise the lock is refused, naming the holder (for the platform script:
its pid and command line), how long it has held the lock, and the way out.
A run normally holds the lock for seconds; the lease (default 30 minutes)
bounds how long a run that died with its controller blocks the next one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import socket
import time
from typing import NamedTuple, Optional

from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import create_atomic
from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import PLATFORM_SCRIPT, SECRET_KEY_PARTS
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import seconds_utc

DEFAULT_LEASE_SECONDS = 1800
OWN = "nexus_cos.launch"
PLATFORM = "platform-deploy-script"
UNRECOGNISED = "unrecognised"
READ_LIMIT = 65536
COMMAND_LIMIT = 200
_BARE_PID = re.compile(r"^\s*([1-9][0-9]{0,9})\s*\Z")


class LockHeld(Exception):
    def __init__(self, path, holder, now):
        self.path = path
        self.holder = holder
        super().__init__(describe_refusal(path, holder, now))

    @property
    def event(self):
        """The audit record of this refusal."""
        return "LOCK_REFUSED", holder_fields(self.holder, "holder_")


class LockError(Exception):
    pass


class Taken(NamedTuple):
    """What acquire() did: ``state`` acquired, recovered (a dead holder's
    lock was taken over; ``previous`` is that holder with its ``reason``) or
    held (already this run's); ``events`` are the audit records to write."""
    state: str
    previous: Optional[dict]
    events: list


class Broken(NamedTuple):
    """What force_break() did: ``state`` broken or absent, the holder whose
    lock was removed, and the audit records to write."""
    state: str
    previous: Optional[dict]
    events: list


def _since(holder, now):
    since = holder.get("since")
    if not isinstance(since, (int, float)):
        return "?", "at an unknown time"
    return seconds_utc(since), "%ds ago" % int(now - since)


def _way_out(path):
    return ("break it now with: nexusctl unlock --reason TEXT (audited as LOCK_BROKEN), or on the host "
            "without the controller: rm %s" % path)


def describe_holder(holder):
    """Who holds the lock, in a few words (for messages and listings)."""
    kind = holder.get("kind")
    if kind == PLATFORM:
        pid = holder.get("pid")
        command = holder.get("command")
        state = ("process %s running: %s" % (pid, command)) if command else (
            "process %s running" % pid if pid_alive(pid) else "process %s not running" % pid)
        return "the platform's deploy script (%s; bare pid %s in the lock, %s)" % (PLATFORM_SCRIPT, pid, state)
    if kind == UNRECOGNISED:
        return ("an unrecognised lock file (neither this collection's JSON nor the platform deploy script's "
                "bare pid; found %s)" % holder.get("found", "?"))
    return "run %s (user %s on %s, pid %s)" % (holder.get("run_id", "?"), holder.get("user", "?"),
                                               holder.get("controller", "?"), holder.get("pid", "?"))


def describe_refusal(path, holder, now):
    when, age = _since(holder, now)
    kind = holder.get("kind")
    if kind == PLATFORM:
        return ("deployment lock %s is held by %s, written %s (%s). Wait for that script to finish. If process "
                "%s is not that script (its pid was reused), %s"
                % (path, describe_holder(holder), when, age, holder.get("pid"), _way_out(path)))
    expires = holder.get("expires")
    ends = seconds_utc(expires) if isinstance(expires, (int, float)) else "?"
    if kind == UNRECOGNISED:
        return ("deployment lock %s is %s, written %s (%s), so nothing names its holder. It is taken over when "
                "its lease ends %s. If no deployment is running, %s" % (path, describe_holder(holder), when, age,
                                                                        ends, _way_out(path)))
    return ("deployment lock %s is held by %s since %s (%s); its lease ends %s. Wait for that run to finish. If it "
            "is gone, the lock is recovered automatically when the lease ends, or %s"
            % (path, describe_holder(holder), when, age, ends, _way_out(path)))


def holder_fields(holder, prefix):
    """Audit fields naming a holder: holder=<kind>, then its run, user and
    pid where it has them, each under ``prefix``."""
    fields = {"holder": holder.get("kind", OWN)}
    if holder.get("kind", OWN) == OWN:
        fields[prefix + "run"] = _scalar(holder.get("run_id", "?"))
        fields[prefix + "user"] = _scalar(holder.get("user", "?"))
    if holder.get("pid") is not None:
        fields[prefix + "pid"] = _scalar(holder["pid"])
    return fields


def _scalar(value):
    """A lock file's value as an audit value (a hand-edited lock may hold anything)."""
    return value if isinstance(value, (str, int, float)) else json.dumps(value, sort_keys=True)


@contextlib.contextmanager
def guard(path):
    fd = os.open(path + ".guard", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _found(data):
    if not data.strip():
        return "an empty file" if not data else "only whitespace"
    text = data[:60].decode("utf-8", "replace")
    return "%d byte(s) starting %s" % (len(data), json.dumps(text, ensure_ascii=True))


def read_holder(path, lease_seconds=DEFAULT_LEASE_SECONDS):
    """The holder as a dict with its ``kind`` (see the module docstring), or
    None when unlocked. Never raises on content: any bytes are a holder."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(READ_LIMIT)
            mtime = os.fstat(handle.fileno()).st_mtime
    except FileNotFoundError:
        return None
    text = data.decode("utf-8", "replace")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("run_id"), str) and document["run_id"]:
        return dict(document, kind=OWN)
    bare = _BARE_PID.match(text)
    if bare:
        pid = int(bare.group(1))
        return {"kind": PLATFORM, "pid": pid, "since": mtime, "command": process_command(pid)}
    return {"kind": UNRECOGNISED, "found": _found(data), "since": mtime, "expires": mtime + lease_seconds}


def pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OverflowError:   # beyond any pid the kernel hands out
        return False
    except (PermissionError, ValueError, TypeError):
        return True
    return True


def process_command(pid, proc="/proc"):
    """The command line of a running process, shortened, with values of
    secret-looking arguments hidden; None when it cannot be read."""
    try:
        with open(os.path.join(proc, str(int(pid)), "cmdline"), "rb") as handle:
            raw = handle.read(4096)
    except (OSError, ValueError):
        return None
    args = [a.decode("utf-8", "replace") for a in raw.split(b"\0")]
    while args and not args[-1]:
        args.pop()
    if not args:
        return None   # a kernel thread or a zombie
    shown, hide_next = [], False
    for arg in args:
        secret = any(part in arg.lower().replace("-", "_") for part in SECRET_KEY_PARTS)
        if hide_next:
            shown.append("***")
            hide_next = False
        elif secret and "=" in arg:
            shown.append(arg.split("=", 1)[0] + "=***")
        else:
            shown.append(arg)
            hide_next = secret
    text = " ".join(shown)
    return text if len(text) <= COMMAND_LIMIT else text[:COMMAND_LIMIT - 3] + "..."


def gone_reason(holder, now, hostname=None):
    """Why the holder is dead, or None while it may still be running."""
    kind = holder.get("kind", OWN)
    if kind == PLATFORM:
        if pid_alive(holder.get("pid")):
            return None
        return "process %s of the platform's deploy script is not running" % holder.get("pid")
    hostname = hostname or socket.gethostname()
    if kind == OWN and holder.get("controller") == hostname and holder.get("pid") and not pid_alive(holder["pid"]):
        return "process %s on this host has exited" % holder["pid"]
    expires = holder.get("expires")
    if not isinstance(expires, (int, float)):
        return "lock file has no lease"
    if now >= expires:
        return "lease ended %s" % seconds_utc(expires)
    return None


def _link_new(path, holder):
    create_atomic(path, json.dumps(holder, sort_keys=True) + "\n", mode=0o644)


def acquire(path, holder, lease_seconds, now=None, check_mode=False, recover=None):
    """Take the lock for ``holder`` (run_id, user, controller, pid), taking
    over a dead holder's lock. Returns a Taken; raises LockHeld when the
    holder may be alive.

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
        events = []
        if current is not None:
            if current.get("kind") == OWN and current.get("run_id") == holder["run_id"]:
                return Taken("held", None, [])
            reason = gone_reason(current, now)
            if reason is None and recover and current.get("kind") == OWN and current.get("run_id") == recover[0]:
                reason = recover[1]
            if reason is None:
                raise LockHeld(path, current, now)
            previous = dict(current, reason=reason)
            fields = holder_fields(current, "previous_")
            fields["reason"] = reason
            events.append(("LOCK_STALE_RECOVERED", fields))
            if not check_mode:
                os.unlink(path)
        if not check_mode:
            try:
                _link_new(path, record)
            except OSError as exc:
                if exc.errno == errno.EEXIST:  # only possible if someone bypassed the guard
                    raise LockHeld(path, read_holder(path) or {}, now)
                raise
        events.append(("LOCK_ACQUIRED", {"pid": holder.get("pid", os.getpid()), "timestamp": int(now)}))
        return Taken("recovered" if previous else "acquired", previous, events)


def release(path, run_id, check_mode=False):
    """Remove the lock if ``run_id`` holds it. Returns 'released', 'absent'
    or 'not-ours' (another holder's lock is never removed)."""
    with guard(path):
        current = read_holder(path)
        if current is None:
            return "absent", None
        if current.get("kind") != OWN or current.get("run_id") != run_id:
            return "not-ours", current
        if not check_mode:
            os.unlink(path)
        return "released", current


def force_break(path, reason, check_mode=False):
    """Remove whatever lock there is (the operator's explicit break, or the
    kill switch's). Returns a Broken; its LOCK_BROKEN record names the
    holder and says whether it still looked alive."""
    with guard(path):
        current = read_holder(path)
        if current is None:
            return Broken("absent", None, [])
        if not check_mode:
            os.unlink(path)
    fields = holder_fields(current, "previous_")
    fields["holder_state"] = "dead" if gone_reason(current, time.time()) else "may-be-running"
    fields["reason"] = reason
    return Broken("broken", current, [("LOCK_BROKEN", fields)])


def assert_held(path, run_id):
    """For state-changing modules: refuse to act unless this run holds the lock."""
    current = read_holder(path)
    if current is None or current.get("kind") != OWN or current.get("run_id") != run_id:
        raise LockError("run %s does not hold the deployment lock %s (holder: %s)"
                        % (run_id, path, describe_holder(current) if current else "nobody"))
