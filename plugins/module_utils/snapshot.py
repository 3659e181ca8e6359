# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Snapshot of the files a launch run may touch: the format, taking and
loading it, and the plan of what a rollback would do with each file.

A snapshot is a directory ``{backup_dir}/{stamp}/``::

    snapshot.json     manifest, written last: its presence = a complete snapshot
    after.json        state after the run's changes (activation runs only)
    files/<path>      exact copy of each file as it was before the run
    lib/              the restore, the kill switch and what they import, so
                      the rollback and emergency scripts run on the host
                      with nothing but python3
    displaced/<stamp>/files/<path>
                      what a rollback replaced or removed (kept, never lost)

The rollback itself is restore.py, its on-host command rollback_cli.py.
This module is a leaf of the host code: it imports only base helpers
(never the restore, the activation code or an entry point), so anything
may read a snapshot. Stdlib only: it runs on the managed host.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import json
import os
import py_compile
import shutil
import socket
import stat
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils import flag_store, gateway, trusted_path, utc_time
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import write_atomic

FORMAT_VERSION = 1
SNAPSHOT_FILE = "snapshot.json"
AFTER_FILE = "after.json"
FILES_DIR = "files"
LIB_DIR = "lib"
DISPLACED_DIR = "displaced"
DIR_MODE = 0o750
FILE_MODE = 0o640
ABSENT = "absent"
FLAG_STORE_NAME = "feature-flags.json"

# What the rollback command imports, copied into every snapshot's lib/.
PACKAGE = "ansible_collections.nexus_cos.launch.plugins.module_utils"
RUNTIME_MODULES = ("snapshot", "restore", "restore_ledger", "rollback_cli", "audit_log", "atomic_file", "documents",
                   "flag_semantics", "flag_store", "deploy_lock", "gateway", "run_audit", "host_scripts", "pf_document",
                   "utc_time", "trusted_path", "run_context", "activation", "activation.clock", "activation.plan",
                   "activation.facts", "activation.ledger", "activation.runs", "activation.gate", "activation.change",
                   "activation.record", "activation.emergency", "operator_hints")

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class SnapshotError(Exception):
    """A snapshot that cannot be taken or used (missing, incomplete, bad
    manifest, unreadable file)."""


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def short_digest(digest):
    return digest[:16] if digest and digest != ABSENT else ABSENT


def copy_relpath(path):
    """Where a file's copy lives inside the snapshot dir: files/<path without
    its leading slash>."""
    return os.path.join(FILES_DIR, path.lstrip("/"))


def make_dirs(path):
    """Create ``path`` and its missing parents, each 0750 whatever the umask."""
    missing = []
    probe = path
    while not os.path.isdir(probe):
        missing.append(probe)
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise SnapshotError("%s exists and is not a directory; expected a directory" % directory)
            continue
        os.chmod(directory, DIR_MODE)


def read_regular(path):
    """(bytes, stat) of a regular file, or (None, None) when it does not
    exist. A symlink or anything but a regular file is refused: a restore
    would replace the link with a file."""
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SnapshotError("%s is a symbolic link; expected a regular file (point the variable at the "
                                "link's target)" % path)
        raise SnapshotError("%s: cannot read: %s" % (path, exc.strerror or exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SnapshotError("%s is not a regular file; expected a regular file" % path)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)


def current_state(path):
    """{exists, sha256} of a file now."""
    data, dummy = read_regular(path)
    if data is None:
        return {"exists": False, "sha256": None}
    return {"exists": True, "sha256": sha256_bytes(data)}


def state_key(state):
    """Comparable form of a file state: its hash, or 'absent'."""
    return state["sha256"] if state.get("exists") else ABSENT


def _dump_json(document):
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def gateway_state(data, source):
    """What the gateway serves for flag store content ``data``
    (gateway.served_state), or every value None with ``error`` when the
    content is absent or not a flag store."""
    if data is None:
        return dict(dict.fromkeys(gateway.STATES), error="%s does not exist" % source)
    try:
        # What the service serves: its own reading (a duplicate key, enabled null, any size).
        store = flag_store.service_loads(data, source=source)
    except flag_store.FlagError as exc:
        return dict(dict.fromkeys(gateway.STATES), error=str(exc))
    return gateway.served_state(store.data)


# ---------------------------------------------------------------- taking

def check_stamp(stamp):
    if not isinstance(stamp, str) or len(stamp) != 16 or not (
            stamp[:8].isdigit() and stamp[8] == "T" and stamp[9:15].isdigit() and stamp[15] == "Z"):
        raise SnapshotError("stamp %r: expected a UTC stamp such as 20260115T103045Z" % (stamp,))


def _check_files(files):
    seen = []
    for path in files:
        if not isinstance(path, str) or not os.path.isabs(path):
            raise SnapshotError("files: %r is not an absolute path; expected absolute paths of the files to "
                                "snapshot" % (path,))
        norm = os.path.normpath(path)
        if norm in seen:
            raise SnapshotError("files: %s is listed twice" % norm)
        seen.append(norm)
    if not seen:
        raise SnapshotError("files: expected at least one file to snapshot")
    return seen


def _precompile(path):
    """Byte-compile a lib/ source with this host's python3, so the on-host
    scripts (which run with -B and write nothing) start fast: the kill
    switch is timed in fractions of a second. Best effort: a source that
    changes later is recompiled in memory by its mtime."""
    if not path.endswith(".py"):
        return None
    try:
        compiled = importlib.util.cache_from_source(path)
        make_dirs(os.path.dirname(compiled))   # 0750 like the rest of the snapshot
        py_compile.compile(path, cfile=compiled, doraise=True)
        os.chmod(compiled, FILE_MODE)
    except (py_compile.PyCompileError, OSError, ValueError):
        return None
    return compiled


def _check_relpath(relpath):
    norm = os.path.normpath(relpath)
    if os.path.isabs(relpath) or norm.startswith("..") or norm == ".":
        raise SnapshotError("runtime_files: %r must be a relative path inside lib/" % relpath)
    return norm


def load(snapshot_dir):
    """The manifest of a complete snapshot. Raises SnapshotError saying
    what is wrong."""
    path = os.path.join(snapshot_dir, SNAPSHOT_FILE)
    if not os.path.isdir(snapshot_dir):
        raise SnapshotError("snapshot %s does not exist (expected a directory made by the snapshot step of a "
                            "Phase 4 run)" % snapshot_dir)
    try:
        with open(path, "rb") as handle:
            manifest = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        raise SnapshotError("snapshot %s is incomplete: it has no %s (the run that took it stopped before "
                            "finishing it); use another snapshot" % (snapshot_dir, SNAPSHOT_FILE))
    except (OSError, ValueError) as exc:
        raise SnapshotError("%s: cannot read the manifest: %s" % (path, exc))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION \
            or not isinstance(manifest.get("files"), list):
        raise SnapshotError("%s: not a snapshot manifest of format %d (expected keys format, run_id, stamp, "
                            "files)" % (path, FORMAT_VERSION))
    for index, entry in enumerate(manifest["files"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) \
                or not isinstance(entry.get("exists"), bool) \
                or (entry["exists"] and not (isinstance(entry.get("sha256"), str) and entry.get("copy"))):
            raise SnapshotError("%s: files[%d] is malformed (expected path, exists, sha256, copy)" % (path, index))
    return manifest


def manifest_sha256(snapshot_dir):
    with open(os.path.join(snapshot_dir, SNAPSHOT_FILE), "rb") as handle:
        return sha256_bytes(handle.read())


def take(files, backup_dir, run_id, stamp, gateway_url=None, runtime_files=None, flag_store_path=None,
         clock=None):
    """Snapshot ``files`` into ``{backup_dir}/{stamp}/`` and return the
    manifest.

    A complete snapshot of the same run already there is returned as it is
    (a re-run step must not record the run's own changes as "before"); one
    of another run is an error; an incomplete one (no manifest) is redone.
    ``flag_store_path`` names the flag store among ``files`` (default: the
    one called feature-flags.json); the gateway state before is computed
    from it."""
    check_stamp(stamp)
    paths = _check_files(files)
    if not run_id:
        raise SnapshotError("run_id: expected the run's id")
    clock = clock or time.time
    backup_dir = os.path.abspath(backup_dir)
    snapshot_dir = os.path.join(backup_dir, stamp)
    if os.path.exists(os.path.join(snapshot_dir, SNAPSHOT_FILE)):
        manifest = load(snapshot_dir)
        if manifest.get("run_id") != run_id:
            raise SnapshotError("snapshot %s already holds run %s's snapshot, not run %s's"
                                % (snapshot_dir, manifest.get("run_id"), run_id))
        return manifest
    if os.path.lexists(snapshot_dir):
        if os.path.islink(snapshot_dir) or not os.path.isdir(snapshot_dir):
            raise SnapshotError("%s exists and is not a directory; expected a snapshot directory" % snapshot_dir)
        shutil.rmtree(snapshot_dir)   # an earlier attempt of this run that did not finish
    make_dirs(snapshot_dir)

    if flag_store_path is None:
        flag_store_path = next((p for p in paths if os.path.basename(p) == FLAG_STORE_NAME), None)
    elif os.path.normpath(flag_store_path) not in paths:
        raise SnapshotError("flag store %s is not among the files to snapshot" % flag_store_path)

    entries = []
    served = dict(dict.fromkeys(gateway.STATES), error="no flag store among the files")
    for path in paths:
        data, st = read_regular(path)
        entry = {"path": path, "exists": data is not None, "sha256": None, "size": None,
                 "mode": None, "uid": None, "gid": None, "copy": None}
        if data is not None:
            copy = copy_relpath(path)
            target = os.path.join(snapshot_dir, copy)
            make_dirs(os.path.dirname(target))
            write_atomic(target, data, mode=FILE_MODE)
            entry.update(sha256=sha256_bytes(data), size=len(data), mode="%04o" % stat.S_IMODE(st.st_mode),
                         uid=st.st_uid, gid=st.st_gid, copy=copy)
        if flag_store_path and path == os.path.normpath(flag_store_path):
            served = gateway_state(data, path)
        entries.append(entry)

    lib = _write_lib(snapshot_dir, runtime_files)
    taken = clock()
    manifest = {
        "format": FORMAT_VERSION,
        "run_id": run_id,
        "stamp": stamp,
        "created": utc_time.iso_utc(taken),
        # To the fraction: a rollback tells the activations recorded after
        # the snapshot by it (activation.record.undo_entries).
        "created_epoch": taken,
        "host": socket.gethostname(),
        "gateway_url": gateway_url,
        "flag_store": flag_store_path,
        "gateway": served,
        "files": entries,
        "lib": lib,
    }
    # Last, so that its presence means every copy above is complete.
    write_atomic(os.path.join(snapshot_dir, SNAPSHOT_FILE), _dump_json(manifest), mode=FILE_MODE)
    return manifest


def _write_lib(snapshot_dir, runtime_files):
    """Write lib/ and return {relpath: sha256} of every file in it, the
    compiled ones too: the on-host scripts run nothing from lib/ that this
    map does not hold (trusted_path.verify_snapshot_lib)."""
    lib = {}
    lib_dir = os.path.join(snapshot_dir, LIB_DIR)
    for relpath, content in sorted((runtime_files or {}).items()):
        relpath = _check_relpath(relpath)
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        target = os.path.join(lib_dir, relpath)
        make_dirs(os.path.dirname(target))
        write_atomic(target, data, mode=FILE_MODE)
        lib[relpath] = sha256_bytes(data)
        compiled = _precompile(target)
        if compiled:
            with open(compiled, "rb") as handle:
                lib[os.path.relpath(compiled, lib_dir)] = sha256_bytes(handle.read())
    return lib


def lib_sha256(manifest):
    """The digest of a snapshot's lib/ hashes, as the audit trail records it
    (lib_sha256=) and the on-host scripts print it once they verified lib/."""
    return trusted_path.lib_digest(manifest.get("lib"))


def add_runtime(snapshot_dir, runtime_files):
    """Add the on-host runtime to a complete snapshot taken without one,
    then rewrite its manifest with the lib's hashes. The kill switch does
    this after the switch is confirmed, to keep the copies out of the
    seconds that count; a snapshot without lib/ is still restored by
    playbooks/rollback.yml."""
    manifest = load(snapshot_dir)
    manifest["lib"] = _write_lib(snapshot_dir, runtime_files)
    write_atomic(os.path.join(snapshot_dir, SNAPSHOT_FILE), _dump_json(manifest), mode=FILE_MODE)
    return manifest


def record_after(snapshot_dir, clock=None, predicted=None, run_id=None):
    """Record the state the run leaves its files in (``after.json``), so a
    rollback can tell the run's own changes from anyone else's. Returns the
    document written.

    With ``predicted`` ({path: sha256}), the hashes a change is about to
    leave, recorded before its first write: a run killed halfway leaves each
    file as before or as predicted, and its rollback restores without
    force. The other files are recorded as they are now. A predicted path
    the snapshot does not hold is refused: a change may only touch files it
    can roll back."""
    manifest = load(snapshot_dir)
    clock = clock or time.time
    paths = [entry["path"] for entry in manifest["files"]]
    predicted = None if predicted is None else dict(predicted)
    outside = sorted(set(predicted or ()) - set(paths))
    if outside:
        raise SnapshotError("%s: not in snapshot %s, which holds %s; a change may only touch files its snapshot "
                            "holds (snapshot_files)" % (", ".join(outside), snapshot_dir, ", ".join(paths)))
    files = []
    for path in paths:
        if predicted is not None and path in predicted:
            files.append({"path": path, "exists": True, "sha256": predicted[path]})
        else:
            files.append(dict(path=path, **current_state(path)))
    document = {"run_id": run_id or manifest.get("run_id"), "recorded": utc_time.iso_utc(clock()), "files": files}
    if predicted is not None:
        document["predicted"] = True
    write_atomic(os.path.join(snapshot_dir, AFTER_FILE), _dump_json(document), mode=FILE_MODE)
    return document


def runtime_files(module_utils_dir=None):
    """{relpath under lib/: source} of the on-host commands (rollback and
    emergency scripts): the modules they import (RUNTIME_MODULES, dotted
    below module_utils; a package's code is its __init__.py), in their
    package, with empty __init__.py files along the way. Read from
    ``module_utils_dir``, or by default from wherever this code was loaded
    (a checkout, a snapshot's lib/, or the zip a module runs from on the
    host), so a module never has to be sent its own sources."""
    parts = PACKAGE.split(".")
    out = {}
    for depth in range(1, len(parts) + 1):
        out[os.path.join(*(parts[:depth] + ["__init__.py"]))] = ""
    for name in RUNTIME_MODULES:
        dotted = name.split(".")
        fullname = PACKAGE + "." + name
        if module_utils_dir:
            base = os.path.join(module_utils_dir, *dotted)
            path = os.path.join(base, "__init__.py") if os.path.isdir(base) else base + ".py"
            with open(path, "r", encoding="utf-8") as handle:
                source = handle.read()
            package = path.endswith("__init__.py")
        else:
            # find_spec does not run the module (pf_document needs PyYAML to import).
            spec = importlib.util.find_spec(fullname)
            source = spec.loader.get_source(fullname) if spec is not None and spec.loader is not None else None
            if source is None:
                raise SnapshotError("the on-host runtime is incomplete: no source for %s where this code runs"
                                    % fullname)
            package = spec.submodule_search_locations is not None
        relpath = os.path.join(*(parts + dotted + ["__init__.py"])) if package \
            else os.path.join(*(parts + dotted[:-1] + [dotted[-1] + ".py"]))
        for depth in range(1, len(dotted)):
            out.setdefault(os.path.join(*(parts + dotted[:depth] + ["__init__.py"])), "")
        out[relpath] = source
    return out


def find_snapshot(backup_dir, run="latest"):
    """The snapshot dir in ``backup_dir`` for ``run``: a stamp, a run id, or
    'latest' (the newest complete snapshot)."""
    try:
        names = sorted(os.listdir(backup_dir))
    except OSError as exc:
        raise SnapshotError("backup dir %s: cannot list snapshots: %s" % (backup_dir, exc.strerror or exc))
    complete = [n for n in names if os.path.isfile(os.path.join(backup_dir, n, SNAPSHOT_FILE))]
    if not complete:
        raise SnapshotError("backup dir %s holds no complete snapshot (a Phase 4 run takes one after its "
                            "prechecks)" % backup_dir)
    run = (run or "latest").strip()
    if run == "latest":
        return os.path.join(backup_dir, complete[-1])
    if run in complete:
        return os.path.join(backup_dir, run)
    # A run id starts with its stamp: look there first; a run id given to a
    # run by hand (nexus_run_id) may not, so then every manifest, newest first.
    for name in complete:
        if run.startswith(name) and load(os.path.join(backup_dir, name)).get("run_id") == run:
            return os.path.join(backup_dir, name)
    for name in reversed(complete):
        try:
            if load(os.path.join(backup_dir, name)).get("run_id") == run:
                return os.path.join(backup_dir, name)
        except SnapshotError:
            continue
    raise SnapshotError("no snapshot of run %s in %s; snapshots there: %s"
                        % (run, backup_dir, ", ".join(complete[-10:])))


# ---------------------------------------------------------------- planning

class FilePlan(object):
    """One file of a snapshot: what it was (before), what the run left
    (after), what it is now, and what a rollback does with it."""

    def __init__(self, snapshot_dir, entry, after):
        self.snapshot_dir = snapshot_dir
        self.entry = entry
        self.path = entry["path"]
        self.before = {"exists": entry["exists"], "sha256": entry.get("sha256")}
        self.after = after or self.before
        self.current = current_state(self.path)
        self.copy_problem = None
        if entry["exists"]:
            copy = os.path.join(snapshot_dir, entry["copy"])
            try:
                data, dummy = read_regular(copy)
            except SnapshotError as exc:
                data = None
                self.copy_problem = str(exc)
            if data is None and self.copy_problem is None:
                self.copy_problem = "backup copy %s is missing" % copy
            elif data is not None and sha256_bytes(data) != entry["sha256"]:
                self.copy_problem = "backup copy %s has sha256 %s, recorded %s" % (
                    copy, short_digest(sha256_bytes(data)), short_digest(entry["sha256"]))

    @property
    def status(self):
        """unchanged (equals the snapshot), restore (the run's change),
        conflict (someone else's change)."""
        now = state_key(self.current)
        if now == state_key(self.before):
            return "unchanged"
        if now == state_key(self.after):
            return "restore"
        return "conflict"

    def target_bytes(self):
        if not self.entry["exists"]:
            return None
        with open(os.path.join(self.snapshot_dir, self.entry["copy"]), "rb") as handle:
            return handle.read()

    def current_bytes(self):
        return read_regular(self.path)[0]

    def conflict(self):
        expected = [state_key(self.before)]
        if state_key(self.after) != expected[0]:
            expected.append(state_key(self.after))
        return {"path": self.path, "expected": expected, "found": state_key(self.current)}


def _load_after(snapshot_dir):
    path = os.path.join(snapshot_dir, AFTER_FILE)
    try:
        with open(path, "rb") as handle:
            document = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SnapshotError("%s: cannot read: %s" % (path, exc))
    if not isinstance(document, dict) or not isinstance(document.get("files"), list):
        raise SnapshotError("%s: expected {files: [{path, exists, sha256}]}" % path)
    out = {}
    for item in document["files"]:
        if isinstance(item, dict) and isinstance(item.get("path"), str) and isinstance(item.get("exists"), bool):
            out[item["path"]] = {"exists": item["exists"], "sha256": item.get("sha256")}
    return out


def plan_restore(snapshot_dir):
    """(manifest, [FilePlan]) for a rollback to ``snapshot_dir``; reads, never writes."""
    manifest = load(snapshot_dir)
    after = _load_after(snapshot_dir)
    return manifest, [FilePlan(snapshot_dir, entry, after.get(entry["path"])) for entry in manifest["files"]]


def expected_state(manifest):
    """What the gateway must serve once the snapshot is restored: what it
    served for the snapshotted flag store (older snapshots recorded only
    the mode and the phase)."""
    served = manifest.get("gateway") or {}
    return dict((name, served.get(name)) for name in gateway.STATES)
