# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Whole-file writes that are never seen half-done, and the sidecar lock
that serialises a read-modify-write of one file.

A write goes to a temp file in the same directory, is fsynced, then renamed
(or linked) into place, and the directory is fsynced. Runs on the managed
host, so it uses the standard library only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import tempfile
import time

EDIT_LOCK_TIMEOUT = 30.0


class EditLockError(OSError):
    """The sidecar lock could not be created or was not free in time.

    An OSError, so callers that already report I/O failures report this too.
    """


def mount_point(path):
    """The mount point of the filesystem ``path`` (or its nearest existing
    parent) is on."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    while not os.path.ismount(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    return probe


def os_error_text(exc, path=None):
    """An OSError in words, naming the file and, for a full or read-only
    filesystem, the filesystem: "no space left on device writing
    /var/log/audit-trail/x.log (filesystem /var/log: 0 bytes
    free)". One wording for every writer of the collection."""
    path = getattr(exc, "filename", None) or path
    reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
    reason = reason[:1].lower() + reason[1:] if reason else "failed"
    if not path:
        return reason
    text = "%s writing %s" % (reason, path)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        mount = mount_point(path)
        try:
            st = os.statvfs(mount)
            text += " (filesystem %s: %d bytes free)" % (mount, st.f_bavail * st.f_frsize)
        except OSError:
            text += " (filesystem %s)" % mount
    return text


def write_atomic(path, data, mode=0o640, uid=None, gid=None, prepare=None):
    """Replace ``path`` with ``data`` (bytes or str) so readers see the old
    or the new file, never part of one.

    ``mode`` is the new file's mode; ``mode=None`` keeps the mode and owner
    of the file being replaced (a new file then gets 0666 less the umask, as
    ``open()`` would). ``uid``/``gid`` set the owner explicitly.
    ``prepare(tmp, path)`` runs just before the rename (e.g. to copy an
    SELinux context). On any error the old file is untouched and no temp
    file is left behind.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = os.path.abspath(path)
    directory, basename = os.path.split(path)
    owner = None
    if uid is not None or gid is not None:
        owner = (-1 if uid is None else uid, -1 if gid is None else gid)
    keep_owner = None
    if mode is None:
        try:
            current = os.stat(path)
        except FileNotFoundError:
            mode = 0o666 & ~_current_umask()
        else:
            mode = stat.S_IMODE(current.st_mode)
            if (current.st_uid, current.st_gid) != (os.geteuid(), os.getegid()):
                keep_owner = (current.st_uid, current.st_gid)
    try:
        tmp = _write_temp(directory, basename, data, mode, owner, keep_owner)
        try:
            if prepare is not None:
                prepare(tmp, path)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        fsync_dir(directory)
    except OSError as exc:
        _name(exc, path)
        raise


def create_atomic(path, data, mode=0o640):
    """Create ``path`` holding ``data`` (bytes or str), complete from the
    first moment it exists. Raises FileExistsError (errno EEXIST) when
    ``path`` already exists, which makes it usable as a lock file."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = os.path.abspath(path)
    directory, basename = os.path.split(path)
    try:
        tmp = _write_temp(directory, basename, data, mode)
        try:
            # link(2), unlike rename(2), refuses to replace an existing file.
            os.link(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        fsync_dir(directory)
    except OSError as exc:
        _name(exc, path)
        raise


def _name(exc, path):
    """A write's OSError names the file being written (a full disk shows up
    while writing the temp file, whose error names no file)."""
    if exc.filename is None:
        exc.filename = path


def fsync_dir(directory):
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some filesystems refuse fsync on a directory; the rename is still atomic.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(fd)


def _write_temp(directory, basename, data, mode, owner=None, keep_owner=None):
    """A temp file in ``directory`` holding ``data`` with ``mode`` (and
    ``owner``, or ``keep_owner`` where permitted), fsynced; its path. Removed
    again if anything fails."""
    fd, tmp = tempfile.mkstemp(prefix=".%s." % basename, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            if owner is not None:
                os.fchown(handle.fileno(), *owner)
            elif keep_owner is not None:
                try:
                    os.fchown(handle.fileno(), *keep_owner)
                except PermissionError:
                    # Only root can give a file away; an unprivileged edit
                    # still keeps the mode.
                    pass
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _current_umask():
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def edit_lock(path, timeout=EDIT_LOCK_TIMEOUT, lock_path=None):
    """Hold an exclusive flock on the sidecar ``<path>.lock`` for a
    read-modify-write of ``path``. Raises EditLockError when the lock file
    cannot be created or is not free within ``timeout`` seconds.

    The sidecar is removed on release, so no lock file is left in the
    repository checkout; a waiter that wakes up holding a removed file notices
    (inode no longer at the path) and locks the new one instead. A sidecar a
    killed writer left is simply taken and removed by the next one, and the
    temp files it left are swept under the lock (sweep_temp_files).
    """
    lock_path = lock_path or path + ".lock"
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as exc:
            raise EditLockError("%s: cannot create lock file %s: %s" % (path, lock_path, exc.strerror or exc))
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise EditLockError("%s: timed out after %.0fs waiting for lock %s "
                                            "(another change in progress?)" % (path, timeout, lock_path))
                    time.sleep(0.05)
            try:
                current = os.stat(lock_path)
            except FileNotFoundError:
                current = None
            if current is not None and current.st_ino == os.fstat(fd).st_ino:
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        sweep_temp_files(path)
        yield lock_path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        os.close(fd)


def temp_file_pattern(path):
    """The names write_atomic gives its temp files for ``path``."""
    return re.compile(r"^\.%s\.[A-Za-z0-9_]+\.tmp\Z" % re.escape(os.path.basename(path)))


def sweep_temp_files(path):
    """Remove the temp files a killed writer of ``path`` left. Called under
    the edit lock of ``path``, which every writer of it holds, so none of
    them can be a write in progress. Returns the names removed."""
    directory = os.path.dirname(os.path.abspath(path))
    pattern = temp_file_pattern(path)
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if pattern.match(name):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(directory, name))
                removed.append(name)
    return removed
