# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Snapshot of the files a launch run may touch, and the rollback that
restores it.

A snapshot is a directory ``{backup_dir}/{stamp}/``::

    snapshot.json     manifest, written last: its presence = a complete snapshot
    after.json        state after the run's changes (activation runs only)
    files/<path>      exact copy of each file as it was before the run
    lib/              this module, the kill switch and what they import, so
                      the rollback and emergency scripts run on the host
                      with nothing but python3
    displaced/<stamp>/files/<path>
                      what a rollback replaced or removed (kept, never lost)

Rollback rules (docs/rollback.md):

* every file must currently equal its snapshot ("before") or the state the
  run left ("after"); anything else means someone else changed it, and the
  rollback is refused naming each such file, unless forced;
* a backup copy that no longer matches its recorded hash is refused always;
* a file absent in the snapshot is removed when it exists at rollback time:
  restoring "exactly that snapshot" includes its absences;
* each file is replaced atomically, so an interrupted rollback leaves every
  file either as before or as after, and running it again completes it;
* when every file already equals the snapshot nothing is written.

Stdlib only: this file runs on the managed host, and as a command there:

    python3 -m ansible_collections.nexus_cos.launch.plugins.module_utils.snapshot \\
        restore --snapshot DIR [--force] [--dry-run] [--gateway-url URL] ...
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import importlib.util
import json
import os
import py_compile
import shutil
import socket
import stat
import sys
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils import (audit_log, deploy_lock, flag_store, gateway,
                                                                       trusted_path, utc_time)
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import (edit_lock, fsync_dir, os_error_text,
                                                                                   write_atomic)

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
RUNTIME_MODULES = ("snapshot", "audit_log", "atomic_file", "documents", "flag_semantics", "flag_store", "deploy_lock",
                   "gateway", "run_audit", "host_scripts", "pf_document", "utc_time", "trusted_path", "run_context",
                   "activation", "activation.clock", "activation.plan", "activation.facts", "activation.ledger",
                   "activation.runs", "activation.gate", "activation.change", "activation.record", "activation.emergency")

VERIFY_INTERVAL = 0.25
RELOAD_EVERY = 8
LOCK_LEASE_SECONDS = 1800

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class SnapshotError(Exception):
    """A snapshot that cannot be taken or used (missing, incomplete, bad
    manifest, unreadable file)."""


class RollbackRefused(SnapshotError):
    """The rollback would overwrite changes it does not know about, or its
    backup copies are not what was recorded. ``conflicts``: [{path,
    expected: [hashes], found}], ``tampered``: [{path, expected, found}]."""

    def __init__(self, message, conflicts=None, tampered=None):
        super().__init__(message)
        self.conflicts = conflicts or []
        self.tampered = tampered or []


class RollbackIncomplete(SnapshotError):
    """A restore that stopped part-way. Every file is either as the
    snapshot has it or as it was; running the rollback again finishes it."""

    def __init__(self, cause, restored, left, gateway_text=""):
        self.cause = cause
        self.restored = list(restored)
        self.left = list(left)
        self.gateway_text = gateway_text
        self.result = {}
        reason = os_error_text(cause) if isinstance(cause, OSError) else str(cause)
        super().__init__("rollback stopped part-way: %s. Restored: %s; not restored: %s. Each file is either "
                         "as the snapshot has it or untouched; run the rollback again to finish it once the cause "
                         "is fixed%s" % (reason, ", ".join(self.restored) or "none",
                                         ", ".join(self.left) or "none",
                                         ". %s" % gateway_text if gateway_text else ""))


def restored_text(restored):
    """'restored a, b' or 'no file needed restoring': what a restore did,
    for messages that must not claim more."""
    if restored:
        return "restored %s" % ", ".join(restored)
    return "no file needed restoring (each already equalled the snapshot)"


class RollbackVerifyFailed(SnapshotError):
    """Files were restored, but the gateway did not confirm the snapshot's
    state in time. ``seen`` holds what it answered, ``result`` the restore
    result (what was restored)."""

    def __init__(self, message, seen=None, result=None):
        super().__init__(message)
        self.seen = seen or {}
        self.result = result or {}


# ---------------------------------------------------------------- small parts

def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def _short(digest):
    return digest[:16] if digest and digest != ABSENT else ABSENT


def copy_relpath(path):
    """Where a file's copy lives inside the snapshot dir: files/<path without
    its leading slash>."""
    return os.path.join(FILES_DIR, path.lstrip("/"))


def _mkdirs(path):
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


def _key(state):
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
        _mkdirs(os.path.dirname(compiled))   # 0750 like the rest of the snapshot
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
    _mkdirs(snapshot_dir)

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
            _mkdirs(os.path.dirname(target))
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
        _mkdirs(os.path.dirname(target))
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
                    copy, _short(sha256_bytes(data)), _short(entry["sha256"]))

    @property
    def status(self):
        """unchanged (equals the snapshot), restore (the run's change),
        conflict (someone else's change)."""
        now = _key(self.current)
        if now == _key(self.before):
            return "unchanged"
        if now == _key(self.after):
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
        expected = [_key(self.before)]
        if _key(self.after) != expected[0]:
            expected.append(_key(self.after))
        return {"path": self.path, "expected": expected, "found": _key(self.current)}


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


def _refusal(manifest, snapshot_dir, conflicts, tampered):
    lines = []
    if tampered:
        lines.append("rollback refused: the backup copies of snapshot %s no longer match the hashes recorded "
                     "when it was taken, so they cannot be trusted (this is not overridden by force):"
                     % snapshot_dir)
        lines.extend("  %s: %s" % (item["path"], item["problem"]) for item in tampered)
    if conflicts:
        lines.append("rollback refused: %d file(s) changed since run %s took snapshot %s, by something other "
                     "than that run:" % (len(conflicts), manifest.get("run_id"), snapshot_dir))
        for item in conflicts:
            lines.append("  %s: expected sha256 %s, found %s" % (
                item["path"], " or ".join(_short(h) for h in item["expected"]), _short(item["found"])))
        lines.append("Check who changed them. To restore the snapshot anyway, run again with force "
                     "(--force, -e rollback_force=true); the current files are kept under %s/"
                     % os.path.join(snapshot_dir, DISPLACED_DIR))
    return "\n".join(lines)


# ---------------------------------------------------------------- restoring

@contextlib.contextmanager
def _file_locks(paths):
    """The sidecar edit locks on every file whose directory exists, in a
    fixed order, so no feature_flag / pf_setting change interleaves."""
    with contextlib.ExitStack() as stack:
        for path in sorted(paths):
            if os.path.isdir(os.path.dirname(path)):
                stack.enter_context(edit_lock(path))
        yield


def _restore_file(plan, displaced_dir):
    """Put one file back as the snapshot has it; keep what was there."""
    path = plan.path
    current = plan.current_bytes()
    displaced = None
    if current is not None:
        displaced = os.path.join(displaced_dir, copy_relpath(path))
        _mkdirs(os.path.dirname(displaced))
        write_atomic(displaced, current, mode=FILE_MODE)
    entry = plan.entry
    if entry["exists"]:
        data = plan.target_bytes()
        if sha256_bytes(data) != entry["sha256"]:
            raise RollbackRefused("backup copy of %s changed while restoring; nothing more restored" % path)
        mode = int(entry["mode"], 8) if entry.get("mode") else FILE_MODE
        owner = {}
        if os.geteuid() == 0 and entry.get("uid") is not None:
            owner = {"uid": entry["uid"], "gid": entry["gid"]}
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        write_atomic(path, data, mode=mode, **owner)
        found = current_state(path)
        if found["sha256"] != entry["sha256"]:
            raise SnapshotError("%s: wrote the snapshot's content but read back sha256 %s, expected %s"
                                % (path, _short(found["sha256"]), _short(entry["sha256"])))
        return "written", displaced
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    fsync_dir(os.path.dirname(path))
    return "removed", displaced


def restore(snapshot_dir, force=False, check_mode=False, gateway_url=None, verify_timeout=30, audit=None,
            via="python", stamp=None, clock=None, sleep=None, state_file=None, audit_errors=None):
    """Restore the snapshot in ``snapshot_dir``; see the module docstring for
    the rules. ``audit``: an audit_log.AuditLog for the ROLLBACK_* records
    (none in check mode). ``state_file``: the activation state file whose
    entries the restore takes away are marked undone once every file is
    restored (``undone`` in the result; activation.record.undo_entries).
    ``audit_errors``: a list to collect the records that could not be
    written, for a restore that must go on without them (the automatic
    rollback of a failed activation: a full audit disk must not keep the
    change live); without it such a failure stops the restore.
    Returns {changed, restored, state, verify, files, undone, ...}; raises
    RollbackRefused, RollbackVerifyFailed or SnapshotError."""
    clock = clock or time.time
    started = time.monotonic()
    snapshot_dir = os.path.abspath(snapshot_dir)
    manifest, plans = plan_restore(snapshot_dir)
    if check_mode:
        audit = None
    stamp = stamp or utc_time.utc_stamp(clock())

    heads = []

    def record(*events):
        if audit is None:
            return
        try:
            heads.extend(audit.records(list(events)))
        except OSError as exc:
            if audit_errors is None:
                raise
            audit_errors.append(os_error_text(exc, audit.path))

    def undo():
        if not state_file:
            return
        from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import record as activation_record
        log = audit
        try:
            result["undone"] = [{"key": e.get("key"), "run_id": e.get("run_id")} for e in
                                activation_record.undo_entries(state_file, manifest, getattr(audit, "run_id", via),
                                                               log, clock=clock)]
        except (OSError, ValueError, flag_store.FlagError) as exc:
            text = os_error_text(exc) if isinstance(exc, OSError) else str(exc)
            result["undo_error"] = ("the files are restored, but the activations this takes away could not be "
                                    "marked undone in %s: %s" % (state_file, text))

    def complete(status, state):
        record(("ROLLBACK_COMPLETE", {"duration": "%.2fs" % (time.monotonic() - started), "status": status,
                                      "state": state}))

    record(("ROLLBACK_START", {"snapshot": manifest.get("stamp", os.path.basename(snapshot_dir)),
                               "snapshot_run": manifest.get("run_id") or "?", "snapshot_dir": snapshot_dir,
                               "force": bool(force), "via": via}))
    tampered = [{"path": p.path, "problem": p.copy_problem} for p in plans if p.copy_problem]
    conflicts = [p.conflict() for p in plans if p.status == "conflict"]
    if tampered or (conflicts and not force):
        record(("ROLLBACK_REFUSED", {"reason": "backup tampered" if tampered else "files changed since snapshot",
                                     "files": ",".join(item["path"] for item in (tampered or conflicts))}))
        complete("refused", "refused")
        raise RollbackRefused(_refusal(manifest, snapshot_dir, conflicts, tampered), conflicts, tampered)

    todo = [p for p in plans if p.status != "unchanged"]
    displaced_dir = os.path.join(snapshot_dir, DISPLACED_DIR, stamp)
    files = [{"path": p.path, "status": p.status, "sha256": _key(p.before)} for p in plans]
    # In check mode: what would be restored; else filled in file by file,
    # so a failure half-way reports exactly what was done.
    result = {"changed": bool(todo), "restored": [p.path for p in todo] if check_mode else [],
              "state": "restored" if todo else "already-restored", "files": files,
              "snapshot": snapshot_dir, "snapshot_stamp": manifest.get("stamp"),
              "snapshot_run_id": manifest.get("run_id"), "forced": [c["path"] for c in conflicts],
              "displaced": displaced_dir if todo else None, "expected": expected_state(manifest),
              "verify": {"skipped": "check mode" if check_mode else "no gateway_url"}, "undone": []}
    if check_mode:
        result["displaced"] = None
        return result

    try:
        if todo:
            with _file_locks([p.path for p in todo]):
                # Re-read under the locks: the state may have moved since planning.
                fresh = {p.path: p for p in plan_restore(snapshot_dir)[1]}
                for p in todo:
                    again = fresh[p.path]
                    if again.status == "conflict" and not force:
                        raise RollbackRefused(_refusal(manifest, snapshot_dir, [again.conflict()], []),
                                              [again.conflict()])
                    if again.status == "unchanged":
                        continue
                    action, displaced = _restore_file(again, displaced_dir)
                    fields = {"path": p.path, "sha256": _key(again.before), "action": action,
                              "forced": again.status == "conflict"}
                    if displaced:
                        fields["displaced"] = displaced
                    result["restored"].append(p.path)
                    record(("ROLLBACK_FILE_RESTORED", fields))
            result["changed"] = bool(result["restored"])
        # Every file is as the snapshot has it now, whatever the gateway says.
        undo()
        if gateway_url:
            try:
                result["verify"] = verify_gateway(gateway_url, result["expected"], verify_timeout,
                                                  sleep=sleep, store_path=manifest.get("flag_store"))
            except RollbackVerifyFailed as exc:
                exc.result = result
                record(("ROLLBACK_FAILED", {"reason": "gateway did not confirm the snapshot's state",
                                            "seen": exc.seen.get("summary", "")}))
                raise
            record(("ROLLBACK_VERIFIED", {"access_mode": _field(result["verify"]["access_mode"]),
                                          "marketplace_phase": _field(result["verify"]["marketplace_phase"]),
                                          "elapsed_ms": result["verify"]["elapsed_ms"]}))
    except RollbackVerifyFailed:
        complete("failed", result["state"])
        raise
    except RollbackRefused:
        complete("refused", "refused")
        raise
    except (SnapshotError, OSError, flag_store.FlagError) as exc:
        left = [p.path for p in todo if p.path not in result["restored"]]
        reread = ""
        if gateway_url and manifest.get("flag_store") in result["restored"]:
            reread = reread_restored_store(gateway_url, verify_timeout)
        incomplete = RollbackIncomplete(exc, result["restored"], left, reread)
        incomplete.result = result
        try:
            record(("ROLLBACK_FAILED", {"reason": str(exc)[:500], "restored": ",".join(result["restored"]) or "-",
                                        "not_restored": ",".join(left) or "-"}))
            complete("failed", "partial")
        except (OSError, audit_log.AuditFormatError):
            pass    # the restore's own error says more than a failed record would
        raise incomplete
    complete("success", result["state"])
    if heads:
        result["audit_head"] = heads[-1]
    return result


def _field(value):
    return "unknown" if value is None else value


def expected_state(manifest):
    """What the gateway must serve once the snapshot is restored: what it
    served for the snapshotted flag store (older snapshots recorded only
    the mode and the phase)."""
    served = manifest.get("gateway") or {}
    return dict((name, served.get(name)) for name in gateway.STATES)


# ---------------------------------------------------------------- the gateway

def verify_gateway(gateway_url, expected, timeout=30, sleep=None, reload=True, store_path=None):
    """Have the gateway reload the flag store (unless ``reload`` is false:
    then only ask) and wait until it serves ``expected`` (gateway.STATES).
    Returns {reload, access_mode, marketplace_phase, flags, elapsed_ms,
    attempts, compared}; raises RollbackVerifyFailed with what was seen."""
    client = gateway.Gateway(gateway_url)
    try:
        done = client.confirm(expected, timeout=timeout, interval=VERIFY_INTERVAL, reload=reload,
                              reload_every=RELOAD_EVERY, sleep=sleep, store_path=store_path)
    except gateway.NotConfirmed as exc:
        seen = dict(exc.seen, reload=exc.reload, summary=exc.summary())
        raise RollbackVerifyFailed(str(exc), seen)
    seen = done["seen"]
    return {"reload": done["reload"], "access_mode": seen.get("access_mode"),
            "marketplace_phase": seen.get("marketplace_phase"), "flags": seen.get("flags"),
            "elapsed_ms": done["elapsed_ms"], "attempts": done["attempts"],
            "compared": expected.get("access_mode") is not None}


def reread_restored_store(gateway_url, timeout=30):
    """After a restore that stopped part-way with the flag store restored:
    have the gateway reread it (the flag store is what opens or closes the
    platform, so the part restored takes effect now rather than at the
    next reload) and say what it serves then, in one sentence."""
    client = gateway.Gateway(gateway_url)
    answer = client.reload(timeout)
    seen = client.observe(gateway.STATES, timeout)
    return "The gateway was told to reread the restored flag store (reload %s) and serves %s" % (
        answer.text(), gateway.describe_seen(seen))


def _seconds(value):
    return ("%.1f" % value).rstrip("0").rstrip(".")


# ---------------------------------------------------------------- the command

def _print(text=""):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _describe_plan(manifest, plans, snapshot_dir):
    _print("snapshot %s of run %s, taken %s on %s"
           % (snapshot_dir, manifest.get("run_id"), manifest.get("created"), manifest.get("host")))
    expected = expected_state(manifest)
    _print("state to restore: access mode %s, marketplace phase %s"
           % (expected["access_mode"], expected["marketplace_phase"]))
    for p in plans:
        word = {"unchanged": "as snapshot", "restore": "changed by the run", "conflict": "CHANGED BY SOMEONE ELSE"}
        _print("  %-24s %s" % (word[p.status], p.path))


def _cmd_status(args):
    manifest, plans = plan_restore(args.snapshot)
    _describe_plan(manifest, plans, os.path.abspath(args.snapshot))
    bad = [p for p in plans if p.copy_problem]
    for p in bad:
        _print("  BACKUP COPY BAD          %s: %s" % (p.path, p.copy_problem))
    return 0


def _holder(run_id):
    return {"run_id": run_id, "user": os.environ.get("SUDO_USER") or os.environ.get("USER") or "root",
            "controller": socket.gethostname(), "pid": os.getpid(), "via": "rollback script"}


def _cmd_restore(args):
    started = time.monotonic()
    snapshot_dir = os.path.abspath(args.snapshot)
    run_id = args.run_id or audit_log.new_run_id()
    stamp = run_id[:16] if len(run_id) >= 16 else utc_time.utc_stamp()
    try:
        check_stamp(stamp)
    except SnapshotError:
        stamp = utc_time.utc_stamp()
    manifest, plans = plan_restore(snapshot_dir)
    _print("Nexus COS rollback %s%s" % (run_id, " (dry run: nothing is changed)" if args.dry_run else ""))
    _describe_plan(manifest, plans, snapshot_dir)

    audit = None
    if args.audit_dir and not args.dry_run:
        audit = audit_log.AuditLog(args.audit_dir, run_id, "rollback-%s.log" % stamp)
    locked = False
    if args.lock and not args.dry_run:
        # The one lock rule (deploy_lock): a dead holder's lock, the
        # platform script's included, is taken over and audited; a live
        # one refuses with the same words the playbooks use.
        try:
            taken = deploy_lock.acquire(args.lock, _holder(run_id), LOCK_LEASE_SECONDS)
        except deploy_lock.LockHeld as exc:
            lost = ""
            if audit is not None:
                try:
                    audit.records([exc.event])
                except OSError as audit_exc:
                    # Who holds the lock matters more than the record of the refusal.
                    lost = " (the LOCK_REFUSED record could not be written: %s)" % os_error_text(audit_exc, audit.path)
            sys.stderr.write("rollback: %s%s\n" % (exc, lost))
            return 1
        locked = True
        if taken.previous:
            _print("deployment lock: took over from %s: %s" % (deploy_lock.describe_holder(taken.previous),
                                                               taken.previous["reason"]))
        if audit is not None:
            try:
                audit.records(taken.events)
            except OSError as exc:
                # As the playbooks do: a run whose start cannot be audited
                # does not start, and does not keep the lock it took.
                deploy_lock.release(args.lock, run_id)
                sys.stderr.write("rollback: the audit trail cannot be written, so the rollback does not start: %s. "
                                 "The deployment lock %s was released again; nothing was changed. Free the space "
                                 "(or fix the directory) and run it again\n" % (
                                     os_error_text(exc, audit.path), args.lock))
                return 1
    state_file = None
    if args.audit_dir:
        from ansible_collections.nexus_cos.launch.plugins.module_utils import activation
        state_file = os.path.join(args.audit_dir, activation.STATE_FILE)
    try:
        result = restore(snapshot_dir, force=args.force, check_mode=args.dry_run, gateway_url=args.gateway_url,
                         verify_timeout=args.verify_timeout, audit=audit, via="script", stamp=stamp,
                         state_file=state_file)
    except RollbackRefused as exc:
        sys.stderr.write("%s\n" % exc)
        return 1
    except RollbackVerifyFailed as exc:
        for path in exc.result.get("restored", []):
            _print("  restored                 %s" % path)
        sys.stderr.write("rollback: %s, but %s\n" % (restored_text(exc.result.get("restored")), exc))
        return 1
    except RollbackIncomplete as exc:
        sys.stderr.write("rollback: %s\n" % exc)
        return 1
    finally:
        if locked:
            deploy_lock.release(args.lock, run_id)
            if audit is not None:
                try:
                    audit.record("LOCK_RELEASED", timestamp=int(time.time()))
                except OSError as exc:
                    sys.stderr.write("rollback: the deployment lock was released, but its LOCK_RELEASED record "
                                     "could not be written: %s\n" % os_error_text(exc, audit.path))
    verb = "would restore" if args.dry_run else "restored"
    for path in result["restored"]:
        _print("  %-24s %s" % (verb, path))
    for entry in result.get("undone") or []:
        _print("  %-24s %s of run %s (the gates no longer count it)" % ("undone", entry["key"], entry["run_id"]))
    if result.get("undo_error"):
        sys.stderr.write("rollback: %s\n" % result["undo_error"])
    if result["forced"] and not args.dry_run:
        _print("forced over changes by someone else; what was there is kept in %s" % result["displaced"])
    elif result["displaced"]:
        _print("replaced content kept in %s" % result["displaced"])
    verify = result["verify"]
    if "skipped" in verify:
        _print("gateway check: skipped (%s)" % verify["skipped"])
    else:
        _print("gateway check: reload %s; serves access mode %s, marketplace phase %s, %s flags (%d ms)"
               % (verify["reload"], verify["access_mode"], verify["marketplace_phase"], verify.get("flags"),
                  verify["elapsed_ms"]))
    if result["state"] == "already-restored":
        _print("nothing to do: every file already equals the snapshot")
    _print("rollback %s in %.2f s%s" % ("checked" if args.dry_run else "done", time.monotonic() - started,
                                        "; audit: %s" % audit.path if audit is not None else ""))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python3 -m %s.snapshot" % PACKAGE,
        description="Restore a Nexus COS launch snapshot (flag store and PF files) on this host.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    rest = sub.add_parser("restore", help="restore the files of a snapshot, reload and verify the gateway")
    rest.add_argument("--snapshot", required=True, help="snapshot directory ({backup_dir}/{stamp})")
    rest.add_argument("--force", action="store_true",
                      help="restore even files someone else changed since the snapshot (kept under displaced/)")
    rest.add_argument("--dry-run", action="store_true", help="say what would be restored; change nothing")
    rest.add_argument("--gateway-url", help="gateway to reload and verify (default: no verification)")
    rest.add_argument("--verify-timeout", type=float, default=30.0,
                      help="seconds to wait for the gateway to report the snapshot's state (default 30)")
    rest.add_argument("--audit-dir", help="audit trail directory; records go to rollback-<stamp>.log")
    rest.add_argument("--run-id", help="run id for the audit records (default: <UTC stamp>-<random>)")
    rest.add_argument("--lock", help="deployment lock to hold while restoring")
    show = sub.add_parser("status", help="compare the files with a snapshot; change nothing")
    show.add_argument("--snapshot", required=True, help="snapshot directory")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if getattr(args, "run_id", None) is not None and args.audit_dir is None:
        build_parser().error("--run-id needs --audit-dir")
    if getattr(args, "verify_timeout", 1) < 0:
        build_parser().error("--verify-timeout must be 0 or more seconds")
    try:
        return _cmd_restore(args) if args.command == "restore" else _cmd_status(args)
    except (SnapshotError, deploy_lock.LockError, audit_log.AuditFormatError, flag_store.FlagError) as exc:
        sys.stderr.write("rollback: %s\n" % exc)
        return 1
    except OSError as exc:
        sys.stderr.write("rollback: %s\n" % exc)
        return 1


if __name__ == "__main__":
    # The host scripts (nexus-rollback-<ts>.sh, nexus-emergency-<ts>.sh) run this file as a program, not Ansible.
    sys.exit(main())  # pylint: disable=ansible-bad-function
