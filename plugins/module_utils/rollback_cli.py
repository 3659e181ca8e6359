# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The on-host rollback command: what ``nexus-rollback-<stamp>.sh`` runs,
with ``python3 -I`` from the snapshot's lib/ (host_scripts), when no
controller can reach the host::

    python3 -m ansible_collections.nexus_cos.launch.plugins.module_utils.rollback_cli \\
        restore --snapshot DIR [--force] [--dry-run] [--gateway-url URL] ...

It takes the deployment lock, audits, restores (restore.py) and marks the
activations it took away undone (restore_ledger). An entry point: nothing
in the collection imports it. Stdlib only.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils import (activation, audit_log, deploy_lock, flag_store,
                                                                       restore, restore_ledger, snapshot, utc_time)
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import os_error_text

LOCK_LEASE_SECONDS = 1800


def _print(text=""):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _describe_plan(manifest, plans, snapshot_dir):
    _print("snapshot %s of run %s, taken %s on %s"
           % (snapshot_dir, manifest.get("run_id"), manifest.get("created"), manifest.get("host")))
    expected = snapshot.expected_state(manifest)
    _print("state to restore: access mode %s, marketplace phase %s"
           % (expected["access_mode"], expected["marketplace_phase"]))
    for p in plans:
        word = {"unchanged": "as snapshot", "restore": "changed by the run", "conflict": "CHANGED BY SOMEONE ELSE"}
        _print("  %-24s %s" % (word[p.status], p.path))


def _cmd_status(args):
    manifest, plans = snapshot.plan_restore(args.snapshot)
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
        snapshot.check_stamp(stamp)
    except snapshot.SnapshotError:
        stamp = utc_time.utc_stamp()
    manifest, plans = snapshot.plan_restore(snapshot_dir)
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
    on_restored = None
    if args.audit_dir:
        on_restored = restore_ledger.undo_activations(os.path.join(args.audit_dir, activation.STATE_FILE),
                                                      audit.run_id if audit is not None else "script", audit)
    context = restore.RestoreContext(audit=audit, via="script", stamp=stamp, on_restored=on_restored)
    try:
        result = restore.restore(snapshot_dir, context, force=args.force, check_mode=args.dry_run,
                                 gateway_url=args.gateway_url, verify_timeout=args.verify_timeout)
    except restore.RollbackRefused as exc:
        sys.stderr.write("%s\n" % exc)
        return 1
    except restore.RollbackVerifyFailed as exc:
        for path in exc.result.get("restored", []):
            _print("  restored                 %s" % path)
        sys.stderr.write("rollback: %s, but %s\n" % (restore.restored_text(exc.result.get("restored")), exc))
        return 1
    except restore.RollbackIncomplete as exc:
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
        prog="python3 -m %s.rollback_cli" % snapshot.PACKAGE,
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
    except (snapshot.SnapshotError, deploy_lock.LockError, audit_log.AuditFormatError, flag_store.FlagError) as exc:
        sys.stderr.write("rollback: %s\n" % exc)
        return 1
    except OSError as exc:
        sys.stderr.write("rollback: %s\n" % exc)
        return 1


if __name__ == "__main__":
    # The host scripts (nexus-rollback-<ts>.sh, nexus-emergency-<ts>.sh) run this file as a program, not Ansible.
    sys.exit(main())  # pylint: disable=ansible-bad-function
