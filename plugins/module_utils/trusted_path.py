# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Whether root alone controls a path: the one rule for the directories and
files the collection trusts (audit trail, backups, snapshots and their
lib/, the on-host scripts).

A path is trusted when it and every directory above it, up to ``/``, is
not a symlink, is owned by root and cannot be written by anyone else.
Anyone who can write a directory can rename what is in it and put their own
in its place, so an ancestor counts as much as the path itself; a sticky
world-writable directory such as /tmp protects a user's files from other
users, not root's from everyone, so it counts as unsafe too. One exception,
for ancestors only: a directory writable by a system group (gid below 1000,
Ubuntu's /var/log is root:syslog 0775), whose members are the host's own
daemons.

This file is also the code the rendered rollback and emergency scripts run
before they import anything from a snapshot (host_scripts inlines its
source and runs it with ``python3 -I``), so it imports nothing but the
standard library and keeps everything it needs inside itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat

SYSTEM_GID_MAX = 999
SNAPSHOT_FILE = "snapshot.json"
LIB_DIR = "lib"


def _who(uid):
    try:
        import pwd
        return "%s (uid %d)" % (pwd.getpwuid(uid).pw_name, uid)
    except (ImportError, KeyError):
        return "uid %d" % uid


def _group(gid):
    try:
        import grp
        return "%s (gid %d)" % (grp.getgrgid(gid).gr_name, gid)
    except (ImportError, KeyError):
        return "gid %d" % gid


def entry_problem(path, st, readlink=os.readlink, ancestor=False):
    """(path, found, fix) when the entry ``path`` with lstat ``st`` is not
    root's alone, else None. ``ancestor``: a directory above the one being
    checked (a system group may write it)."""
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        try:
            target = readlink(path)
        except OSError:
            target = "?"
        return (path, "a symlink to %s" % target,
                "replace the symlink %s with the directory or file it stands for (a symlink the collection did "
                "not make is never followed)" % path)
    is_dir = stat.S_ISDIR(st.st_mode)
    fix_mode = "go-w" if ancestor else ("0750" if is_dir else "0640")
    fix = "chown root:root %s && chmod %s %s" % (path, fix_mode, path)
    if st.st_uid != 0:
        return path, "owned by %s, mode %04o" % (_who(st.st_uid), mode), fix
    if mode & 0o002:
        if ancestor and is_dir and mode & stat.S_ISVTX:
            return (path, "writable by every user (mode %04o, sticky: another user may create names there)" % mode,
                    "move it under a directory only root can write (not %s)" % path)
        return path, "writable by every user (mode %04o)" % mode, fix
    if mode & 0o020 and st.st_gid != 0 and not (ancestor and st.st_gid <= SYSTEM_GID_MAX):
        return path, "writable by group %s (mode %04o)" % (_group(st.st_gid), mode), fix
    return None


def path_problem(path, lstat=os.lstat, readlink=os.readlink):
    """(component, found, fix) for the first component of ``path``, from
    ``/`` down, that is not root's alone; None when every existing one is.
    A component that does not exist ends the walk (the run creates it, under
    a parent already checked). ``lstat`` returns None or raises
    FileNotFoundError for a missing path."""
    path = os.path.normpath(os.path.abspath(path))
    parts = [p for p in path.split(os.sep) if p]
    current = os.sep
    chain = [current] + [os.path.join(os.sep, *parts[:i + 1]) for i in range(len(parts))]
    for index, current in enumerate(chain):
        try:
            st = lstat(current)
        except FileNotFoundError:
            st = None
        if st is None:
            return None
        found = entry_problem(current, st, readlink, ancestor=index < len(chain) - 1)
        if found:
            return found
    return None


def problem_text(what, path, found):
    """One sentence: the path checked, the component at fault, what it is."""
    component, finding, dummy = found
    where = "" if component == path else " is not trusted: %s above it is" % component
    return ("%s %s%s %s; expected it and every directory above it owned by root, writable by root alone and not a "
            "symlink" % (what, path, where or " is", finding))


def lib_digest(lib):
    """sha256 of a snapshot's {relpath: sha256} of lib/: one value for the
    audit trail that names every file the on-host scripts run."""
    text = json.dumps(lib or {}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256_file(path):
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return digest.hexdigest()
            digest.update(chunk)
    finally:
        os.close(fd)


def verify_snapshot_lib(snapshot_dir, script=None):
    """Problems (one line each) that keep an on-host script from running
    the code of ``snapshot_dir``'s lib/; (problems, lib digest). Checks
    the script itself, the snapshot dir, its manifest and every dir and file
    in lib/ (root's alone, no symlink), and each file's sha256 against the
    manifest's lib map; a file the map does not list is refused too."""
    problems = []

    def check(path, what):
        found = path_problem(path)
        if found:
            problems.append("%s; fix: %s" % (problem_text(what, path, found), found[2]))
            return False
        return True

    if script is not None and not check(script, "this script"):
        return problems, None
    if not check(snapshot_dir, "snapshot"):
        return problems, None
    manifest_path = os.path.join(snapshot_dir, SNAPSHOT_FILE)
    lib_dir = os.path.join(snapshot_dir, LIB_DIR)
    if not check(manifest_path, "manifest") or not check(lib_dir, "lib"):
        return problems, None
    try:
        fd = os.open(manifest_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            recorded = json.loads(handle.read().decode("utf-8")).get("lib")
    except (OSError, ValueError, AttributeError) as exc:
        return ["manifest %s cannot be read: %s" % (manifest_path, exc)], None
    if not isinstance(recorded, dict) or not recorded:
        return ["manifest %s records no lib/ hashes (a snapshot without its runtime); use playbooks/rollback.yml "
                "from the controller" % manifest_path], None
    seen = set()
    for top, dirs, names in os.walk(lib_dir):
        for name in sorted(dirs + names):
            path = os.path.join(top, name)
            st = os.lstat(path)
            found = entry_problem(path, st)
            relpath = os.path.relpath(path, lib_dir)
            seen.add(relpath)
            if found:
                problems.append("lib %s is %s; fix: %s" % (path, found[1], found[2]))
                continue
            if stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                problems.append("lib %s is not a regular file" % path)
            elif relpath not in recorded:
                problems.append("lib %s is not in the manifest's lib hashes (a file added after the snapshot)" % path)
            elif _sha256_file(path) != recorded[relpath]:
                problems.append("lib %s has sha256 %s, the manifest records %s (changed after the snapshot)"
                                % (path, _sha256_file(path)[:16], str(recorded[relpath])[:16]))
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(top, d))]
    for relpath in sorted(set(recorded) - seen):
        problems.append("lib %s is missing (the manifest records it)" % os.path.join(lib_dir, relpath))
    return problems, lib_digest(recorded)


def script_main(argv):
    """What the rendered scripts run first: ``SNAPSHOT_DIR SCRIPT``. Exit 0
    when the snapshot's code may run, 1 (with each problem) when not."""
    import sys
    snapshot_dir, script = argv[0], argv[1]
    prog = os.path.basename(script)
    try:
        problems, digest = verify_snapshot_lib(snapshot_dir, script)
    except OSError as exc:
        problems, digest = ["cannot check %s: %s" % (snapshot_dir, exc)], None
    if problems:
        sys.stderr.write("%s: refused: nothing of %s was run, because it is not root's alone or not what the "
                         "snapshot recorded:\n" % (prog, os.path.join(snapshot_dir, LIB_DIR)))
        for line in problems:
            sys.stderr.write("  %s\n" % line)
        return 1
    sys.stdout.write("%s: snapshot code verified (lib_sha256 %s)\n" % (prog, digest))
    return 0
