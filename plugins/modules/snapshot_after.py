#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: snapshot_after
short_description: Record in a Nexus COS snapshot the state its run leaves the files in
version_added: "1.0.0"
description:
  - Writes the snapshot's C(after.json), the state the run that took the snapshot leaves each of
    its files in, so a rollback tells the run's own changes from anyone else's (docs/rollback.md).
  - With O(predicted), the hashes a change is about to leave, taken from the check-mode results
    of the very tasks that will write (M(nexus_cos.launch.feature_flag) and
    M(nexus_cos.launch.pf_setting) return C(sha256_after)). Written before the first of those
    writes, a run killed halfway leaves each file as snapshotted or as predicted, and its rollback
    restores without force. The other files are recorded as they are now.
  - Without O(predicted), records every file as it is now.
  - Refuses a predicted path the snapshot does not hold, and, with O(lock_path), unless the run
    O(run_id) holds the deployment lock.
  - Reports C(changed) when it wrote; the plays mark the task C(changed_when=false), as a record
    of a run is not configuration.
author: Nexus COS platform team (@nexus-cos)
extends_documentation_fragment:
  - nexus_cos.launch.attributes
  - nexus_cos.launch.host_paths.audit_paths
  - nexus_cos.launch.host_paths
  - nexus_cos.launch.audit
options:
  snapshot:
    description: The snapshot directory, C(<nexus_backup_dir>/<stamp>).
    type: path
    required: true
  predicted:
    description: "The hashes the change will leave, C({path: sha256})."
    type: dict
attributes:
  check_mode:
    support: full
    details: Reports what it would record; writes nothing.
  diff_mode:
    support: none
seealso:
  - module: nexus_cos.launch.snapshot
  - module: nexus_cos.launch.restore_snapshot
'''

EXAMPLES = r'''
- name: Record in the snapshot what the change will leave, before the first write
  nexus_cos.launch.snapshot_after:
    snapshot: "{{ nexus_backup_dir }}/{{ nexus_run_stamp }}"
    predicted: "{{ {nexus_flag_store: nexus_flags_predicted.sha256_after} }}"
    lock_path: "{{ nexus_lock_path }}"
    audit_dir: "{{ nexus_audit_dir }}"
    audit_file: "{{ deploy_lock_audit_file }}"
    run_id: "{{ nexus_run_id }}"
  changed_when: false
'''

RETURN = r'''
after:
  description: The state recorded, C([{path, exists, sha256}]).
  returned: always
  type: list
  elements: dict
changed_files:
  description: The files whose recorded state differs from the snapshot.
  returned: always
  type: list
  elements: str
audit_head:
  description: The audit chain head after this module's record (C(SNAPSHOT_AFTER_RECORDED)).
  returned: when audited
  type: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import deploy_lock, run_audit, snapshot


def _changed(manifest, after):
    before = dict((e["path"], e.get("sha256") if e["exists"] else None) for e in manifest["files"])
    return [a["path"] for a in after if (a["sha256"] if a["exists"] else None) != before.get(a["path"])]


def main():
    argument_spec = dict(
        snapshot=dict(type="path", required=True),
        predicted=dict(type="dict"),
    )
    argument_spec.update(run_audit.AUDIT_ARGUMENT_SPEC, **run_audit.HOST_PATHS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    snapshot_dir = p["snapshot"]
    predicted = None if p["predicted"] is None else dict((os.path.normpath(k), v) for k, v in p["predicted"].items())
    try:
        manifest = snapshot.load(snapshot_dir)
        log = None if module.check_mode else run_audit.open_audit(p)
        extra = run_audit.extra_events(p)
        if module.check_mode:
            after = [dict(path=e["path"], **snapshot.current_state(e["path"])) for e in manifest["files"]]
            for entry in after:
                if predicted and entry["path"] in predicted:
                    entry.update(exists=True, sha256=predicted[entry["path"]])
            module.exit_json(changed=False, after=after, changed_files=_changed(manifest, after))
        if p["lock_path"]:
            deploy_lock.assert_held(p["lock_path"], p["run_id"])
        after = snapshot.record_after(snapshot_dir, predicted=predicted, run_id=p["run_id"])["files"]
        changed_files = _changed(manifest, after)
        head = run_audit.write(log, [("SNAPSHOT_AFTER_RECORDED", {
            "dir": snapshot_dir, "files": len(after), "changed_files": ",".join(changed_files) or "-",
            "predicted": predicted is not None})] + extra)
    except (snapshot.SnapshotError, deploy_lock.LockError) as exc:
        module.fail_json(msg="snapshot_after: %s" % exc)
    except (OSError, ValueError) as exc:
        module.fail_json(msg="snapshot_after %s: %s" % (snapshot_dir, exc))
    out = dict(changed=True, after=after, changed_files=changed_files)
    if head:
        out["audit_head"] = head
    module.exit_json(**out)


if __name__ == "__main__":
    main()
