# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The rollback: restore the files of a snapshot (snapshot.py), then have
the gateway reread them and confirm the snapshot's state.

Rules (docs/rollback.md):

* every file must currently equal its snapshot ("before") or the state the
  run left ("after"); anything else means someone else changed it, and the
  rollback is refused naming each such file, unless forced;
* a backup copy that no longer matches its recorded hash is refused always;
* a file absent in the snapshot is removed when it exists at rollback time:
  restoring "exactly that snapshot" includes its absences;
* each file is replaced atomically, so an interrupted rollback leaves every
  file either as before or as after, and running it again completes it;
* when every file already equals the snapshot nothing is written.

What else a restore takes away (the activation ledger's entries) is the
caller's: RestoreContext.on_restored is called once every file is as the
snapshot has it, so this module imports nothing above the snapshot format.
Stdlib only: it runs on the managed host, from a module or from the
snapshot's lib/ (rollback_cli.py).
"""

from __future__ import annotations

import contextlib
import os
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, flag_store, gateway, snapshot, utc_time
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import (edit_lock, fsync_dir, os_error_text,
                                                                                   write_atomic)
from ansible_collections.nexus_cos.launch.plugins.module_utils.snapshot import SnapshotError, short_digest, state_key

VERIFY_INTERVAL = 0.25
RELOAD_EVERY = 8


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


# ---------------------------------------------------------------- restoring

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
                item["path"], " or ".join(short_digest(h) for h in item["expected"]), short_digest(item["found"])))
        lines.append("Check who changed them. To restore the snapshot anyway, run again with force "
                     "(--force, -e rollback_force=true); the current files are kept under %s/"
                     % os.path.join(snapshot_dir, snapshot.DISPLACED_DIR))
    return "\n".join(lines)


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
        displaced = os.path.join(displaced_dir, snapshot.copy_relpath(path))
        snapshot.make_dirs(os.path.dirname(displaced))
        write_atomic(displaced, current, mode=snapshot.FILE_MODE)
    entry = plan.entry
    if entry["exists"]:
        data = plan.target_bytes()
        if snapshot.sha256_bytes(data) != entry["sha256"]:
            raise RollbackRefused("backup copy of %s changed while restoring; nothing more restored" % path)
        mode = int(entry["mode"], 8) if entry.get("mode") else snapshot.FILE_MODE
        owner = {}
        if os.geteuid() == 0 and entry.get("uid") is not None:
            owner = {"uid": entry["uid"], "gid": entry["gid"]}
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        write_atomic(path, data, mode=mode, **owner)
        found = snapshot.current_state(path)
        if found["sha256"] != entry["sha256"]:
            raise SnapshotError("%s: wrote the snapshot's content but read back sha256 %s, expected %s"
                                % (path, short_digest(found["sha256"]), short_digest(entry["sha256"])))
        return "written", displaced
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    fsync_dir(os.path.dirname(path))
    return "removed", displaced


class RestoreContext(object):
    """How one restore runs and is recorded, apart from what it restores.

    ``audit``: an audit_log.AuditLog for the ROLLBACK_* records (none in
    check mode). ``via``: what ran it (ansible, script, python), in the
    ROLLBACK_START record. ``stamp``: names the displaced/ directory
    (default: now). ``clock``/``sleep``: time.time/time.sleep unless a test
    gives its own. ``audit_errors``: a list to collect the records that
    could not be written, for a restore that must go on without them (the
    automatic rollback of a failed activation: a full audit disk must not
    keep the change live); without it such a failure stops the restore.
    ``on_restored(manifest, result)``: called once every file is as the
    snapshot has it (not in check mode, not after a refusal), before the
    gateway is asked; it adds to ``result`` what else the restore took
    away (restore_ledger: the activations marked undone)."""

    def __init__(self, audit=None, via="python", stamp=None, clock=None, sleep=None, audit_errors=None,
                 on_restored=None):
        self.audit = audit
        self.via = via
        self.stamp = stamp
        self.clock = clock or time.time
        self.sleep = sleep
        self.audit_errors = audit_errors
        self.on_restored = on_restored


def restore(snapshot_dir, context=None, force=False, check_mode=False, gateway_url=None, verify_timeout=30):
    """Restore the snapshot in ``snapshot_dir``; see the module docstring for
    the rules. ``context``: a RestoreContext (default: no audit, nothing
    else taken away). ``gateway_url``: the gateway to reload and wait for,
    up to ``verify_timeout`` seconds, serving the snapshot's state.
    Returns {changed, restored, state, verify, files, undone, ...}; raises
    RollbackRefused, RollbackVerifyFailed or SnapshotError."""
    context = context or RestoreContext()
    started = time.monotonic()
    snapshot_dir = os.path.abspath(snapshot_dir)
    manifest, plans = snapshot.plan_restore(snapshot_dir)
    audit = None if check_mode else context.audit
    audit_errors = context.audit_errors
    via = context.via
    stamp = context.stamp or utc_time.utc_stamp(context.clock())

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
    displaced_dir = os.path.join(snapshot_dir, snapshot.DISPLACED_DIR, stamp)
    files = [{"path": p.path, "status": p.status, "sha256": state_key(p.before)} for p in plans]
    # In check mode: what would be restored; else filled in file by file,
    # so a failure half-way reports exactly what was done.
    result = {"changed": bool(todo), "restored": [p.path for p in todo] if check_mode else [],
              "state": "restored" if todo else "already-restored", "files": files,
              "snapshot": snapshot_dir, "snapshot_stamp": manifest.get("stamp"),
              "snapshot_run_id": manifest.get("run_id"), "forced": [c["path"] for c in conflicts],
              "displaced": displaced_dir if todo else None, "expected": snapshot.expected_state(manifest),
              "verify": {"skipped": "check mode" if check_mode else "no gateway_url"}, "undone": []}
    if check_mode:
        result["displaced"] = None
        return result

    try:
        if todo:
            with _file_locks([p.path for p in todo]):
                # Re-read under the locks: the state may have moved since planning.
                fresh = {p.path: p for p in snapshot.plan_restore(snapshot_dir)[1]}
                for p in todo:
                    again = fresh[p.path]
                    if again.status == "conflict" and not force:
                        raise RollbackRefused(_refusal(manifest, snapshot_dir, [again.conflict()], []),
                                              [again.conflict()])
                    if again.status == "unchanged":
                        continue
                    action, displaced = _restore_file(again, displaced_dir)
                    fields = {"path": p.path, "sha256": state_key(again.before), "action": action,
                              "forced": again.status == "conflict"}
                    if displaced:
                        fields["displaced"] = displaced
                    result["restored"].append(p.path)
                    record(("ROLLBACK_FILE_RESTORED", fields))
            result["changed"] = bool(result["restored"])
        # Every file is as the snapshot has it now, whatever the gateway says.
        if context.on_restored is not None:
            context.on_restored(manifest, result)
        if gateway_url:
            try:
                result["verify"] = verify_gateway(gateway_url, result["expected"], verify_timeout,
                                                  sleep=context.sleep, store_path=manifest.get("flag_store"))
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
