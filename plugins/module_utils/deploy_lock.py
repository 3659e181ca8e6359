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

Only root is trusted (DESIGN 7a). The lock directory is /run/lock on
Debian, mode 1777, where any local user can create the lock or guard path
first. So a lock or guard file counts only when it is a regular file (a
symbolic link is never followed), owned by root (or by the user running
this code, which is root on a host) and writable by no one else; any other
file there is a fourth kind, ``untrusted``, whose content is never read nor
shown. Such a file is removed, not obeyed: root may unlink anyone's file in
the sticky directory, and the removal is audited (``LOCK_UNTRUSTED_REMOVED
file=... kind=... owner=... mode=...``; a directory is renamed aside, as it
cannot be unlinked). Removing it was chosen over moving the guard into a
root-only directory because that directory's own name can be planted the
same way, and because the on-host rollback script and the platform's own
script look at this path. Our own files are then created exclusively
(O_EXCL, never through a link), mode 0600. If something plants the path
again between the removal and our creation, the attempt is repeated a few
times and then refused (LockRaced), never waited on.

A run's lock can also disappear under it: the platform's own script (root,
same path) removes a lock it calls stale. ``assert_held`` (before every
write of a run) and the module's release say so in words, "another tool
removed the deployment lock during this run" or "another tool replaced the
deployment lock during this run: it now holds ...", and ``LockLost.event``
is the ``LOCK_LOST`` record.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import pwd
import re
import socket
import stat
import time
from typing import NamedTuple, Optional

from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import create_atomic
from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import PLATFORM_SCRIPT, SECRET_KEY_PARTS
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import seconds_utc

DEFAULT_LEASE_SECONDS = 1800
OWN = "nexus_cos.launch"
PLATFORM = "platform-deploy-script"
UNRECOGNISED = "unrecognised"
UNTRUSTED = "untrusted"
# The trust anchor (DESIGN 7a). The user running this code is trusted too:
# root on a host, and a test's own files otherwise.
TRUSTED_UID = 0
GUARD_SUFFIX = ".guard"
# How often a file planted again right after its removal is removed before
# the attempt is refused: a few, so a race ends in a refusal, never a hang.
PLANT_ATTEMPTS = 3
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


class LockRaced(LockError):
    """An untrusted file was planted at the lock or guard path again each
    time it was removed."""


class LockLost(LockError):
    """This run's lock was removed or replaced by another tool."""

    def __init__(self, path, run_id, current):
        self.path = path
        self.run_id = run_id
        self.current = current
        if current is None:
            text = ("run %s does not hold the deployment lock %s: another tool removed the deployment lock during "
                    "this run (there is no lock file)" % (run_id, path))
        else:
            text = ("run %s does not hold the deployment lock %s: another tool replaced the deployment lock during "
                    "this run: it now holds %s" % (run_id, path, describe_holder(current)))
        super().__init__(text)

    @property
    def event(self):
        """The audit record: LOCK_LOST found=absent, or found=<kind> and who holds it now."""
        if self.current is None:
            return "LOCK_LOST", {"found": "absent"}
        fields = {"found": self.current.get("kind", OWN)}
        fields.update(holder_fields(self.current, "holder_"))
        del fields["holder"]
        return "LOCK_LOST", fields


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
    if kind == UNTRUSTED:
        return "an untrusted file (it %s)" % holder.get("problem", "is not trusted")
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
    if holder.get("kind") == UNTRUSTED:
        fields.update((prefix + key, holder[key]) for key in ("file_kind", "owner", "mode") if key in holder)
        return fields
    if holder.get("kind", OWN) == OWN:
        fields[prefix + "run"] = _scalar(holder.get("run_id", "?"))
        fields[prefix + "user"] = _scalar(holder.get("user", "?"))
    if holder.get("pid") is not None:
        fields[prefix + "pid"] = _scalar(holder["pid"])
    return fields


def _scalar(value):
    """A lock file's value as an audit value (a hand-edited lock may hold anything)."""
    return value if isinstance(value, (str, int, float)) else json.dumps(value, sort_keys=True)


# ---------------------------------------------------------------- whom to trust

_KINDS = ((stat.S_ISREG, "regular file"), (stat.S_ISLNK, "symbolic link"), (stat.S_ISDIR, "directory"),
          (stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
          (stat.S_ISBLK, "block device"))


def file_kind(st):
    """What an lstat result is, in words: regular file, symbolic link, ..."""
    for test, name in _KINDS:
        if test(st.st_mode):
            return name
    return "special file"


def owner_text(uid):
    try:
        return "uid %d (%s)" % (uid, pwd.getpwuid(uid).pw_name)
    except KeyError:
        return "uid %d" % uid


def trusted_owner(uid):
    return uid in (TRUSTED_UID, os.geteuid())


def untrusted_reason(st):
    """Why a file (its lstat) is not trusted, as the rest of a sentence
    naming it ("... is owned by uid 65534 (nobody), not root: not
    trusted"), or None when root owns a regular file only root may write."""
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link, which is never followed: not trusted"
    if not stat.S_ISREG(st.st_mode):
        return "is a %s, not a regular file: not trusted" % file_kind(st)
    if not trusted_owner(st.st_uid):
        return "is owned by %s, not root: not trusted" % owner_text(st.st_uid)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "is writable by group or others (mode %04o): not trusted" % stat.S_IMODE(st.st_mode)
    return None


def _untrusted_holder(st, problem):
    return {"kind": UNTRUSTED, "problem": problem, "file_kind": file_kind(st).replace(" ", "-"),
            "owner": st.st_uid, "mode": "%04o" % stat.S_IMODE(st.st_mode), "since": st.st_mtime}


def _open_trusted(path):
    """(fd, None) of ``path`` opened for reading when it is trusted; (None,
    untrusted holder) when it is not; (None, None) when there is no file.
    An untrusted file is never opened (a pipe could block, a link leads
    elsewhere)."""
    for dummy in range(PLANT_ATTEMPTS):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None, None
        problem = untrusted_reason(st)
        if problem:
            return None, _untrusted_holder(st, problem)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENXIO):
                continue      # swapped for a link or a socket after the lstat: look again
            raise
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino) and untrusted_reason(now) is None:
            return fd, None
        os.close(fd)
    raise LockRaced("%s keeps changing while it is read (%d attempts): refused" % (path, PLANT_ATTEMPTS))


def _set_aside(path, st, what):
    """Remove the untrusted file at ``path`` (lstat ``st``); its audit
    record. A directory cannot be unlinked, so it is renamed aside."""
    fields = {"file": path, "what": what, "kind": file_kind(st).replace(" ", "-"), "owner": st.st_uid,
              "mode": "%04o" % stat.S_IMODE(st.st_mode)}
    if stat.S_ISDIR(st.st_mode):
        aside = "%s.untrusted-%s" % (path, os.urandom(4).hex())
        os.rename(path, aside)
        fields["moved_to"] = aside
    else:
        os.unlink(path)
    return "LOCK_UNTRUSTED_REMOVED", fields


def check_directory(directory):
    """The lock's directory: root's, and either only root may write it or
    it is sticky (/run/lock is 1777), so nobody else can remove our files."""
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        raise LockError("lock directory %s does not exist" % directory)
    if not stat.S_ISDIR(st.st_mode):
        raise LockError("lock directory %s is a %s, not a directory" % (directory, file_kind(st)))
    if not trusted_owner(st.st_uid):
        raise LockError("lock directory %s is owned by %s, not root: not trusted, so no lock is taken there; "
                        "make root its owner (chown root %s)" % (directory, owner_text(st.st_uid), directory))
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        raise LockError("lock directory %s is writable by others and not sticky (mode %04o): anyone could replace "
                        "the lock there, so it is not trusted; make it 1777 or 0755 (chmod +t %s)"
                        % (directory, stat.S_IMODE(st.st_mode), directory))


def _open_guard(path, events):
    """The guard file, opened: created by us (O_EXCL, never through a link)
    or already root's. A planted one is set aside first (audited)."""
    flags = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for dummy in range(PLANT_ATTEMPTS):
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | flags, 0o600)
        except FileExistsError:
            pass
        fd, untrusted = _open_trusted(path)
        if fd is not None:
            return fd
        if untrusted is None:
            continue      # removed meanwhile: create it
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if untrusted_reason(st):
            events.append(_set_aside(path, st, "guard"))
    raise LockRaced("deployment lock guard %s: an untrusted file was planted there again each time it was removed "
                    "(%d times), so the lock is refused rather than waited on; find the process that creates it"
                    % (path, PLANT_ATTEMPTS))


@contextlib.contextmanager
def guard(path, events=None):
    """The flock under which every look-and-act on the lock happens.
    ``events`` receives the audit records of untrusted guard files set aside."""
    fd = _open_guard(path + GUARD_SUFFIX, [] if events is None else events)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _found(data):
    # Kind and size only: even a root-owned file may hold what no message should show.
    if not data.strip():
        return "an empty file" if not data else "only whitespace (%d byte(s))" % len(data)
    return "%d byte(s) of other content" % len(data)


def read_holder(path, lease_seconds=DEFAULT_LEASE_SECONDS):
    """The holder as a dict with its ``kind`` (see the module docstring), or
    None when unlocked. Never raises on content: any bytes are a holder. An
    untrusted file is not read: its holder says why (``problem``)."""
    fd, untrusted = _open_trusted(path)
    if fd is None:
        return untrusted
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(READ_LIMIT)
        mtime = os.fstat(handle.fileno()).st_mtime
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
    if kind == UNTRUSTED:
        return "the lock file %s" % holder.get("problem", "is not trusted")
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
    # Created whole, exclusively (link(2) never replaces nor follows what is
    # at the path), readable by root only: it names user, controller and pid.
    create_atomic(path, json.dumps(holder, sort_keys=True) + "\n", mode=0o600)


def _set_aside_lock(path, current, check_mode):
    """An untrusted lock file: the records of setting it aside (removed
    unless ``check_mode``). It is judged again from its lstat at removal."""
    if check_mode:
        return [("LOCK_UNTRUSTED_REMOVED", {"file": path, "what": "lock", "kind": current.get("file_kind"),
                                            "owner": current.get("owner"), "mode": current.get("mode")})]
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return []
    if not untrusted_reason(st):
        return []       # replaced by a trusted file meanwhile: judged again by the caller
    return [_set_aside(path, st, "lock")]


def acquire(path, holder, lease_seconds, now=None, check_mode=False, recover=None):
    """Take the lock for ``holder`` (run_id, user, controller, pid), taking
    over a dead holder's lock. Returns a Taken; raises LockHeld when the
    holder may be alive, LockRaced when an untrusted file keeps being
    planted at the path.

    ``recover`` is ``(run_id, reason)``: the caller has established that the
    run holding the lock is gone (its controller process exited) and takes it
    over if, and only if, that run still holds it."""
    now = time.time() if now is None else now
    record = dict(holder, since=now, expires=now + lease_seconds, lock_host=socket.gethostname())
    directory = os.path.dirname(path) or "."
    check_directory(directory)
    events = []
    with guard(path, events):
        previous = None
        for dummy in range(PLANT_ATTEMPTS):
            current = read_holder(path, lease_seconds)
            if current is not None and current.get("kind") == UNTRUSTED:
                # Not a holder: whoever planted it may not block a run.
                events.extend(_set_aside_lock(path, current, check_mode))
                previous = dict(current, reason="removed: the lock file %s" % current["problem"])
                current = None
                if check_mode:
                    break
            elif current is not None:
                if current.get("kind") == OWN and current.get("run_id") == holder["run_id"]:
                    return Taken("held", None, events)
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
            if check_mode:
                break
            try:
                _link_new(path, record)
                break
            except FileExistsError:
                # Only something that bypasses the guard gets here: a file
                # planted since we looked. Look again.
                continue
        else:
            raise LockRaced("deployment lock %s: an untrusted file was planted there again each time it was removed "
                            "(%d times), so the lock is refused rather than waited on; find the process that "
                            "creates it" % (path, PLANT_ATTEMPTS))
        events.append(("LOCK_ACQUIRED", {"pid": holder.get("pid", os.getpid()), "timestamp": int(now)}))
        return Taken("recovered" if previous else "acquired", previous, events)


def release(path, run_id, check_mode=False, events=None):
    """Remove the lock if ``run_id`` holds it. Returns 'released', 'absent'
    or 'not-ours' (another holder's lock is never removed) and the holder
    found. ``events`` receives the records of an untrusted guard set aside."""
    with guard(path, events):
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
    holder and says whether it still looked alive. An untrusted file is set
    aside (LOCK_UNTRUSTED_REMOVED), never followed."""
    events = []
    with guard(path, events):
        current = read_holder(path)
        if current is None:
            return Broken("absent", None, events)
        if current.get("kind") == UNTRUSTED:
            events.extend(_set_aside_lock(path, current, check_mode))
        elif not check_mode:
            os.unlink(path)
    fields = holder_fields(current, "previous_")
    fields["holder_state"] = "dead" if gone_reason(current, time.time()) else "may-be-running"
    fields["reason"] = reason
    return Broken("broken", current, events + [("LOCK_BROKEN", fields)])


def assert_held(path, run_id):
    """For state-changing modules: refuse to act unless this run holds the
    lock. Raises LockLost (a LockError) naming what another tool did."""
    current = read_holder(path)
    if current is None or current.get("kind") != OWN or current.get("run_id") != run_id:
        raise LockLost(path, run_id, current)
