# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Snapshot of the files a launch run may touch, and the rollback that
restores it.

A snapshot is a directory ``{backup_dir}/{stamp}/``::

    snapshot.json     manifest, written last: its presence = a complete snapshot
    after.json        state after the run's changes (activation runs only)
    files/<path>      exact copy of each file as it was before the run
    lib/              this module and what it imports, so the rollback script
                      runs on the host with nothing but python3
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
import json
import os
import shutil
import socket
import stat
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, deploy_lock, flag_store
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import edit_lock, fsync_dir, write_atomic

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
RUNTIME_MODULES = ("snapshot", "audit_log", "atomic_file", "flag_semantics", "flag_store", "deploy_lock")

RELOAD_PATH = "/api/feature-flags/reload"
LAUNCH_HEALTH_PATH = "/api/pf/launch/health"
MARKETPLACE_HEALTH_PATH = "/api/pf/marketplace/health"
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


def _iso_utc(epoch=None):
    return datetime.fromtimestamp(time.time() if epoch is None else epoch, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


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
    data, _ = read_regular(path)
    if data is None:
        return {"exists": False, "sha256": None}
    return {"exists": True, "sha256": sha256_bytes(data)}


def _key(state):
    """Comparable form of a file state: its hash, or 'absent'."""
    return state["sha256"] if state.get("exists") else ABSENT


def _dump_json(document):
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def gateway_state(data, source):
    """The state the gateway reports for flag store content ``data``:
    {access_mode, marketplace_phase}, or both None with ``error`` when the
    content is absent or not a flag store."""
    if data is None:
        return {"access_mode": None, "marketplace_phase": None, "error": "%s does not exist" % source}
    try:
        store = flag_store.loads(data, source=source)
    except flag_store.FlagError as exc:
        return {"access_mode": None, "marketplace_phase": None, "error": str(exc)}
    return {"access_mode": store.access_mode(), "marketplace_phase": store.marketplace_phase()}


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
    gateway = {"access_mode": None, "marketplace_phase": None, "error": "no flag store among the files"}
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
            gateway = gateway_state(data, path)
        entries.append(entry)

    lib = {}
    for relpath, content in sorted((runtime_files or {}).items()):
        relpath = _check_relpath(relpath)
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        target = os.path.join(snapshot_dir, LIB_DIR, relpath)
        _mkdirs(os.path.dirname(target))
        write_atomic(target, data, mode=FILE_MODE)
        lib[relpath] = sha256_bytes(data)

    manifest = {
        "format": FORMAT_VERSION,
        "run_id": run_id,
        "stamp": stamp,
        "created": _iso_utc(clock()),
        "host": socket.gethostname(),
        "gateway_url": gateway_url,
        "flag_store": flag_store_path,
        "gateway": gateway,
        "files": entries,
        "lib": lib,
    }
    # Last, so that its presence means every copy above is complete.
    write_atomic(os.path.join(snapshot_dir, SNAPSHOT_FILE), _dump_json(manifest), mode=FILE_MODE)
    return manifest


def record_after(snapshot_dir, clock=None):
    """Record the state the run left its files in (``after.json``), so a
    rollback can tell the run's own changes from anyone else's. Returns the
    document written."""
    manifest = load(snapshot_dir)
    clock = clock or time.time
    document = {"run_id": manifest.get("run_id"), "recorded": _iso_utc(clock()),
                "files": [dict(path=entry["path"], **current_state(entry["path"])) for entry in manifest["files"]]}
    write_atomic(os.path.join(snapshot_dir, AFTER_FILE), _dump_json(document), mode=FILE_MODE)
    return document


def runtime_files(module_utils_dir):
    """{relpath under lib/: source} for the rollback command: the modules it
    imports, in their package, with empty __init__.py files along the way."""
    parts = PACKAGE.split(".")
    out = {}
    for depth in range(1, len(parts) + 1):
        out[os.path.join(*(parts[:depth] + ["__init__.py"]))] = ""
    for name in RUNTIME_MODULES:
        with open(os.path.join(module_utils_dir, name + ".py"), "r", encoding="utf-8") as handle:
            out[os.path.join(*(parts + [name + ".py"]))] = handle.read()
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
    # A run id starts with its stamp: look there first.
    for name in complete:
        if run.startswith(name) and load(os.path.join(backup_dir, name)).get("run_id") == run:
            return os.path.join(backup_dir, name)
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
                data, _ = read_regular(copy)
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
            via="python", stamp=None, clock=None, sleep=None):
    """Restore the snapshot in ``snapshot_dir``; see the module docstring for
    the rules. ``audit``: an audit_log.AuditLog for the ROLLBACK_* records
    (none in check mode). Returns {changed, restored, state, verify, files,
    ...}; raises RollbackRefused, RollbackVerifyFailed or SnapshotError."""
    clock = clock or time.time
    started = time.monotonic()
    snapshot_dir = os.path.abspath(snapshot_dir)
    manifest, plans = plan_restore(snapshot_dir)
    if check_mode:
        audit = None
    stamp = stamp or audit_log.utc_stamp(clock())

    heads = []

    def record(*events):
        if audit is not None:
            heads.extend(audit.records(list(events)))

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
    result = {"changed": bool(todo), "restored": [p.path for p in todo],
              "state": "restored" if todo else "already-restored", "files": files,
              "snapshot": snapshot_dir, "snapshot_stamp": manifest.get("stamp"),
              "snapshot_run_id": manifest.get("run_id"), "forced": [c["path"] for c in conflicts],
              "displaced": displaced_dir if todo else None, "expected": _expected(manifest),
              "verify": {"skipped": "check mode" if check_mode else "no gateway_url"}}
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
                    record(("ROLLBACK_FILE_RESTORED", fields))
        if gateway_url:
            try:
                result["verify"] = verify_gateway(gateway_url, result["expected"], verify_timeout,
                                                  sleep=sleep)
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
        record(("ROLLBACK_FAILED", {"reason": str(exc)[:500]}))
        complete("failed", "partial")
        raise
    complete("success", result["state"])
    if heads:
        result["audit_head"] = heads[-1]
    return result


def _field(value):
    return "unknown" if value is None else value


def _expected(manifest):
    gateway = manifest.get("gateway") or {}
    return {"access_mode": gateway.get("access_mode"), "marketplace_phase": gateway.get("marketplace_phase")}


# ---------------------------------------------------------------- the gateway

def gateway_request(method, url, timeout):
    """One request to the gateway API, without proxies: (status, parsed JSON
    or None, error text). Status 0: nothing answered. Shared with the
    gateway_verify module."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None,
                                     headers={"Accept": "application/json"})
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read(65536)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(65536)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return 0, None, str(getattr(exc, "reason", exc))
    try:
        return status, json.loads(raw.decode("utf-8")), ""
    except ValueError:
        return status, None, "answer is not JSON"


def _seen(status, body, error, key):
    if status == 0:
        return "no answer (%s)" % error
    value = body.get(key) if isinstance(body, dict) else None
    if key == "mode" and isinstance(body, dict):
        value = body.get("currentMode", body.get("mode"))
    return "HTTP %d %s %s" % (status, key, value if value is not None else "?")


def verify_gateway(gateway_url, expected, timeout=30, sleep=None, reload=True):
    """Tell the gateway to reload the flag store (unless ``reload`` is
    false: then only ask) and wait until its health endpoints report
    ``expected`` {access_mode, marketplace_phase}. Returns {reload,
    access_mode, marketplace_phase, elapsed_ms, attempts}; raises
    RollbackVerifyFailed with what was seen."""
    sleep = sleep or time.sleep
    base = gateway_url.rstrip("/")
    started = time.monotonic()
    deadline = started + max(float(timeout), 0.0)
    want_mode, want_phase = expected.get("access_mode"), expected.get("marketplace_phase")
    reloaded, attempts = not reload, 0
    seen = {} if reload else {"reload": "not asked"}
    while True:
        attempts += 1
        per_request = max(0.5, min(5.0, deadline - time.monotonic()))
        # Asked again now and then: a gateway that restarted or missed the
        # first reload still gets to reread the restored file.
        if reload and (not reloaded or attempts % RELOAD_EVERY == 0):
            status, body, error = gateway_request("POST", base + RELOAD_PATH, per_request)
            reloaded = status == 200 and not (isinstance(body, dict) and body.get("success") is False)
            seen["reload"] = "HTTP %d" % status if status else "no answer (%s)" % error
        if reloaded:
            l_status, l_body, l_error = gateway_request("GET", base + LAUNCH_HEALTH_PATH, per_request)
            m_status, m_body, m_error = gateway_request("GET", base + MARKETPLACE_HEALTH_PATH, per_request)
            mode = (l_body.get("currentMode", l_body.get("mode")) if isinstance(l_body, dict) else None)
            phase = m_body.get("phase") if isinstance(m_body, dict) else None
            seen.update(launch=_seen(l_status, l_body, l_error, "mode"),
                        marketplace=_seen(m_status, m_body, m_error, "phase"),
                        access_mode=mode, marketplace_phase=phase)
            mode_ok = l_status == 200 and (want_mode is None or mode == want_mode)
            if want_phase is None:
                phase_ok = m_status in (200, 503)
            elif want_phase == 0:
                phase_ok = m_status == 503 and phase in (0, None)
            else:
                phase_ok = m_status == 200 and phase == want_phase
            if mode_ok and phase_ok:
                return {"reload": seen["reload"], "access_mode": mode, "marketplace_phase": phase,
                        "elapsed_ms": int((time.monotonic() - started) * 1000), "attempts": attempts,
                        "compared": want_mode is not None}
        if time.monotonic() + VERIFY_INTERVAL > deadline:
            break
        sleep(VERIFY_INTERVAL)
    want = "mode %s, marketplace phase %s" % (want_mode or "(not recorded)",
                                              "%s (HTTP %s)" % (want_phase, 503 if want_phase == 0 else 200)
                                              if want_phase is not None else "(not recorded)")
    summary = "reload: %s; launch health: %s; marketplace health: %s" % (
        seen.get("reload"), seen.get("launch", "not asked"), seen.get("marketplace", "not asked"))
    seen["summary"] = summary
    raise RollbackVerifyFailed("gateway %s did not confirm the snapshot's state within %s s: expected %s; "
                               "seen %s" % (base, _seconds(timeout), want, summary), seen)


def _seconds(value):
    return ("%.1f" % value).rstrip("0").rstrip(".")


# ---------------------------------------------------------------- the command

def _print(text=""):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _describe_plan(manifest, plans, snapshot_dir):
    _print("snapshot %s of run %s, taken %s on %s"
           % (snapshot_dir, manifest.get("run_id"), manifest.get("created"), manifest.get("host")))
    expected = _expected(manifest)
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
    stamp = run_id[:16] if len(run_id) >= 16 else audit_log.utc_stamp()
    try:
        check_stamp(stamp)
    except SnapshotError:
        stamp = audit_log.utc_stamp()
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
            if audit is not None:
                audit.records([exc.event])
            sys.stderr.write("rollback: %s\n" % exc)
            return 1
        locked = True
        if taken.previous:
            _print("deployment lock: took over from %s: %s" % (deploy_lock.describe_holder(taken.previous),
                                                              taken.previous["reason"]))
        if audit is not None:
            audit.records(taken.events)
    try:
        result = restore(snapshot_dir, force=args.force, check_mode=args.dry_run, gateway_url=args.gateway_url,
                         verify_timeout=args.verify_timeout, audit=audit, via="script", stamp=stamp)
    except RollbackRefused as exc:
        sys.stderr.write("%s\n" % exc)
        return 1
    except RollbackVerifyFailed as exc:
        for path in exc.result.get("restored", []):
            _print("  restored                 %s" % path)
        sys.stderr.write("rollback: files restored, but %s\n" % exc)
        return 1
    finally:
        if locked:
            deploy_lock.release(args.lock, run_id)
            if audit is not None:
                audit.record("LOCK_RELEASED", timestamp=int(time.time()))
    verb = "would restore" if args.dry_run else "restored"
    for path in result["restored"]:
        _print("  %-24s %s" % (verb, path))
    if result["forced"] and not args.dry_run:
        _print("forced over changes by someone else; what was there is kept in %s" % result["displaced"])
    elif result["displaced"]:
        _print("replaced content kept in %s" % result["displaced"])
    verify = result["verify"]
    if "skipped" in verify:
        _print("gateway check: skipped (%s)" % verify["skipped"])
    else:
        _print("gateway check: reload %s; access mode %s, marketplace phase %s (%d ms)"
               % (verify["reload"], verify["access_mode"], verify["marketplace_phase"], verify["elapsed_ms"]))
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
    sys.exit(main())
