#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: restore_snapshot
short_description: Roll the Nexus COS flag store and PF files back to a run's snapshot
version_added: "1.0.0"
description:
  - Restores the files of a snapshot taken by M(nexus_cos.launch.snapshot) byte for byte, with
    their mode and owner, each replaced atomically; then tells the gateway to reload the flag
    store and waits until its health endpoints report the snapshot's access mode and
    marketplace phase.
  - Refuses when a file changed since the snapshot by something other than the run that took
    it (it matches neither the snapshot nor the state that run recorded), naming each file with
    the hashes expected and found, unless O(force=true). What a forced rollback overwrites is
    kept under the snapshot's C(displaced/) directory.
  - Refuses, even with O(force=true), when a backup copy no longer matches its recorded hash.
  - When every file already equals the snapshot nothing is written (the gateway is still
    reloaded and verified), so a second rollback changes nothing.
  - Audits C(ROLLBACK_START), C(ROLLBACK_FILE_RESTORED) per file, C(ROLLBACK_VERIFIED) or
    C(ROLLBACK_FAILED), and C(ROLLBACK_COMPLETE) with duration and status.
  - Once every file is restored, each recorded activation the restore took away (recorded after
    the snapshot was taken, its change no longer in place) is marked undone in the activation
    state file and audited C(ACTIVATION_UNDONE); the gates no longer count it.
author: Nexus COS platform team (@nexus-cos)
extends_documentation_fragment:
  - nexus_cos.launch.attributes
  - nexus_cos.launch.host_paths.audit_paths
  - nexus_cos.launch.host_paths
  - nexus_cos.launch.audit
options:
  snapshot:
    description: The snapshot directory (C(<backup_dir>/<stamp>)). Give this or O(backup_dir).
    type: path
  backup_dir:
    description: Directory of snapshots, searched for O(run) when O(snapshot) is not given.
    type: path
  run:
    description: With O(backup_dir), the snapshot to restore, by stamp or run id; C(latest) is the newest.
    type: str
    default: latest
  force:
    description: Restore even files someone else changed since the snapshot.
    type: bool
    default: false
  gateway_url:
    description: Gateway to reload and verify. Without it the gateway is not checked.
    type: str
  verify_timeout:
    description: Seconds to wait for the gateway to report the snapshot's state.
    type: int
    default: 30
  state_file:
    description:
      - The activation state file whose entries a restore takes away are marked undone.
        Defaults to C(activation-state.json) in O(audit_dir); without either, nothing is marked.
    type: path
  continue_without_audit:
    description:
      - Restore even when an audit record cannot be written (a full audit disk), returning the
        records lost in C(audit_errors). The automatic rollback of a failed activation sets it, as
        a change that failed must not stay live for want of a record. Otherwise such a failure
        stops the restore.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - In check mode nothing is written and the gateway is not contacted; with C(--diff) the
    unified diff of every file that would change is shown.
  - The same restore runs without Ansible on the host through C(nexus-rollback-<stamp>.sh).
seealso:
  - module: nexus_cos.launch.snapshot
'''

EXAMPLES = r'''
- name: Roll back to the newest snapshot
  nexus_cos.launch.restore_snapshot:
    backup_dir: "{{ nexus_backup_dir }}"
    gateway_url: "{{ nexus_gateway_url }}"
    lock_path: "{{ nexus_lock_path }}"
    audit_dir: "{{ nexus_audit_dir }}"
    audit_file: "rollback-{{ nexus_run_stamp }}.log"
    run_id: "{{ nexus_run_id }}"

- name: Roll back a named run's snapshot even over someone else's changes
  nexus_cos.launch.restore_snapshot:
    snapshot: /opt/nexus-cos/backups/phase4/20260115T103045Z
    force: true
    gateway_url: http://localhost:4000
'''

RETURN = r'''
changed:
  description: Whether files were (or in check mode would be) restored.
  returned: always
  type: bool
state:
  description: C(restored) or C(already-restored) (every file already equalled the snapshot).
  returned: success
  type: str
restored:
  description: Paths restored (written or removed).
  returned: always
  type: list
  elements: str
forced:
  description: Paths restored over changes by someone else (O(force=true)).
  returned: success
  type: list
  elements: str
not_restored:
  description: When the restore stopped part-way, the files it did not get to (running it again finishes them).
  returned: on a restore that stopped part-way
  type: list
  elements: str
files:
  description: Each file of the snapshot with its status before the rollback (unchanged, restore, conflict).
  returned: success
  type: list
  elements: dict
snapshot:
  description: The snapshot directory used.
  returned: always
  type: str
snapshot_run_id:
  description: Run id of the run that took the snapshot.
  returned: success
  type: str
displaced:
  description: Directory holding what the rollback replaced or removed.
  returned: when files were restored
  type: str
verify:
  description: What the gateway served, C({reload, access_mode, marketplace_phase, flags, elapsed_ms, attempts}), or C({skipped}).
  returned: success
  type: dict
conflicts:
  description: On refusal, each file changed by someone else, C({path, expected, found}).
  returned: on refusal
  type: list
  elements: dict
audit_head:
  description: The audit chain head after this module's records.
  returned: when audited and not in check mode
  type: dict
undone:
  description: The recorded activations marked undone, C([{key, run_id}]).
  returned: success
  type: list
  elements: dict
undo_error:
  description: Why the activations the restore took away could not be marked undone.
  returned: when that failed
  type: str
audit_errors:
  description: With O(continue_without_audit), the audit records that could not be written.
  returned: always
  type: list
  elements: str
lock_lost:
  description:
    - With O(lock_path), what another tool did to the run's lock, in words, e.g. that another tool removed the
      deployment lock during this run. Nothing is then restored, since that tool may be writing.
  returned: when the run no longer holds the lock
  type: str
nothing_written:
  description:
    - With RV(lock_lost), true when every file is as the snapshot holds it, so the run wrote nothing and
      there is nothing to roll back; false when some differ (listed in RV(not_rolled_back)).
  returned: when the run no longer holds the lock
  type: bool
not_rolled_back:
  description: With RV(lock_lost), the files that differ from the snapshot and were left as they are.
  returned: when the run no longer holds the lock and files differ
  type: list
  elements: str
'''

import difflib
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import (activation, deploy_lock, restore, restore_ledger, run_audit,
                                                                       snapshot)
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import os_error_text

MAX_DIFF_BYTES = 256 * 1024


def _text(data):
    if data is None:
        return ""
    if len(data) > MAX_DIFF_BYTES or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _diffs(plans, force):
    out = []
    for plan in plans:
        if plan.status == "unchanged" or (plan.status == "conflict" and not force):
            continue
        before, after = _text(plan.current_bytes()), _text(plan.target_bytes())
        if before is None or after is None:
            out.append({"prepared": "%s: binary or large file differs; restored byte for byte" % plan.path})
            continue
        text = "".join(difflib.unified_diff(
            before.splitlines(True), after.splitlines(True),
            "%s (now)" % plan.path if plan.current["exists"] else "/dev/null",
            "%s (snapshot)" % plan.path if plan.entry["exists"] else "/dev/null"))
        out.append({"prepared": text})
    return out


def _lock_lost(module, snapshot_dir, lost, out):
    """Another tool took the run's lock: nothing is restored (that tool may
    be writing now). Whether the run wrote anything is read from the files
    themselves, the one signal a writer killed after its rename cannot get
    wrong: every file as snapshotted means nothing of the run is left."""
    dummy, plans = snapshot.plan_restore(snapshot_dir)
    differ = [plan.path for plan in plans if plan.status != "unchanged"]
    out.update(lock_lost=str(lost), nothing_written=not differ)
    if not differ:
        module.fail_json(msg="nothing to roll back: every file is as snapshot %s holds it (this run wrote nothing), "
                             "but %s" % (snapshot_dir, lost), **out)
    module.fail_json(msg="not rolled back, because %s; %d file(s) differ from snapshot %s: %s"
                         % (lost, len(differ), snapshot_dir, ", ".join(differ)), not_rolled_back=differ, **out)


def main():
    argument_spec = dict(
        snapshot=dict(type="path"),
        backup_dir=dict(type="path"),
        run=dict(type="str", default="latest"),
        force=dict(type="bool", default=False),
        gateway_url=dict(type="str"),
        verify_timeout=dict(type="int", default=30),
        state_file=dict(type="path"),
        continue_without_audit=dict(type="bool", default=False),
    )
    argument_spec.update(run_audit.AUDIT_ARGUMENT_SPEC, **run_audit.HOST_PATHS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=[("snapshot", "backup_dir")],
                           mutually_exclusive=[("snapshot", "backup_dir")])
    p = module.params
    audit_errors = [] if p["continue_without_audit"] else None
    out = dict(changed=False, restored=[], snapshot=p["snapshot"], audit_errors=[] if audit_errors is None else audit_errors)
    if p["verify_timeout"] < 0:
        module.fail_json(msg="verify_timeout must be 0 or more seconds, got %d" % p["verify_timeout"], **out)
    try:
        log = None if module.check_mode else run_audit.open_audit(p)
        extra = run_audit.extra_events(p)
        snapshot_dir = p["snapshot"] or snapshot.find_snapshot(p["backup_dir"], p["run"])
        out["snapshot"] = snapshot_dir
        if p["lock_path"] and not module.check_mode:
            try:
                deploy_lock.assert_held(p["lock_path"], p["run_id"])
            except deploy_lock.LockLost as exc:
                _lock_lost(module, snapshot_dir, exc, out)
        if module._diff:
            dummy, plans = snapshot.plan_restore(snapshot_dir)
            diffs = _diffs(plans, p["force"])
        try:
            state_file = p["state_file"] or (os.path.join(p["audit_dir"], activation.STATE_FILE)
                                             if p["audit_dir"] else None)
            on_restored = restore_ledger.undo_activations(state_file, log.run_id if log else "ansible", log) if state_file else None
            context = restore.RestoreContext(audit=log, via="ansible", audit_errors=audit_errors, on_restored=on_restored)
            result = restore.restore(snapshot_dir, context, force=p["force"], check_mode=module.check_mode,
                                     gateway_url=p["gateway_url"], verify_timeout=p["verify_timeout"])
        finally:
            try:
                head = run_audit.write(log, extra)
            except OSError as exc:
                if audit_errors is None:
                    raise
                audit_errors.append(os_error_text(exc, log.path))
                head = None
    except restore.RollbackRefused as exc:
        module.fail_json(msg=str(exc), conflicts=exc.conflicts, tampered=exc.tampered, **out)
    except restore.RollbackVerifyFailed as exc:
        out.update(changed=bool(exc.result.get("restored")), restored=exc.result.get("restored", []),
                   seen=exc.seen, undone=exc.result.get("undone", []))
        if exc.result.get("undo_error"):
            out["undo_error"] = exc.result["undo_error"]
        module.fail_json(msg="%s, but %s" % (restore.restored_text(out["restored"]), exc), **out)
    except restore.RollbackIncomplete as exc:
        out.update(changed=bool(exc.restored), restored=exc.restored, not_restored=exc.left)
        module.fail_json(msg=str(exc), **out)
    except (snapshot.SnapshotError, deploy_lock.LockError) as exc:
        module.fail_json(msg=str(exc), **out)
    except (OSError, ValueError) as exc:
        why = os_error_text(exc) if isinstance(exc, OSError) else exc
        module.fail_json(msg="rollback of %s: %s" % (out["snapshot"], why), **out)
    out.update(result)
    if out.get("undo_error"):
        module.warn(out["undo_error"])
    if module._diff:
        out["diff"] = diffs
    if head:
        out["audit_head"] = head
    module.exit_json(**out)


if __name__ == "__main__":
    main()
