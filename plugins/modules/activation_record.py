#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: activation_record
short_description: Record a confirmed Nexus COS activation for the next gates
version_added: "1.0.0"
description:
  - Records an activation the gateway confirmed (a marketplace step, the launch), first as an
    audit record (C(ACTIVATION_STEP_APPLIED)), then in the state file C(activation-state.json)
    of the audit directory, written atomically. The gates believe an entry only with its audit
    record (M(nexus_cos.launch.activation_info) cross-checks them).
  - Refuses unless the run O(run_id) holds the deployment lock O(lock_path).
  - The entry is stored with C(recorded_epoch), the host's time of the record, which a rollback
    compares with the time its snapshot was taken to tell the activations it undoes.
  - Reports C(changed) when it wrote; the plays mark the task C(changed_when=false), as a record
    of a run is not configuration.
author: Nexus COS platform team (@nexus-cos)
extends_documentation_fragment:
  - nexus_cos.launch.attributes
  - nexus_cos.launch.host_paths.audit_paths
  - nexus_cos.launch.host_paths
  - nexus_cos.launch.audit
options:
  entry:
    description:
      - The activation to record, as the gate returned it in C(entry). Keys C(key), C(applied_at),
        C(applied_at_utc), C(run_id), C(audit_event) and optional C(forced_reason), C(clock_override),
        C(approvers), C(waived), C(reason), C(from_mode).
    type: dict
    required: true
  state_file:
    description: The activation state file. Defaults to C(activation-state.json) in O(audit_dir).
    type: path
attributes:
  check_mode:
    support: full
    details: Nothing is written in check mode.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Record the activation for the next gates
  nexus_cos.launch.activation_record:
    entry: "{{ nexus_activation.entry }}"
    lock_path: "{{ nexus_lock_path }}"
    audit_dir: "{{ nexus_audit_dir }}"
    audit_file: "{{ deploy_lock_audit_file }}"
    run_id: "{{ nexus_run_id }}"
  changed_when: false
'''

RETURN = r'''
entry:
  description: The entry as recorded, with C(audit_file), C(audit_seq) and C(audit_chain).
  returned: always
  type: dict
audit_head:
  description: The audit chain head after this module's records.
  returned: when written
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import deploy_lock, flag_store, run_audit
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import record as activation_record
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import os_error_text

ENTRY_KEYS = ("key", "applied_at", "applied_at_utc", "run_id", "audit_event")


def main():
    argument_spec = dict(
        entry=dict(type="dict", required=True),
        state_file=dict(type="path"),
    )
    argument_spec.update(run_audit.AUDIT_ARGUMENT_SPEC, **run_audit.HOST_PATHS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_together=[("audit_file", "run_id")])
    p = module.params
    entry = dict(p["entry"])
    for key in ENTRY_KEYS:
        if key not in entry:
            module.fail_json(msg="entry: key %s is missing; expected the entry the gate returned" % key)
    if not (p["audit_file"] and p["audit_dir"]):
        module.fail_json(msg="audit_dir and audit_file are required: every activation is audited "
                             "(the plays pass nexus_audit_dir and the run's chain file)")
    if module.check_mode:
        module.exit_json(changed=False, entry=entry)
    if p["lock_path"]:
        try:
            deploy_lock.assert_held(p["lock_path"], p["run_id"])
        except deploy_lock.LockError as exc:
            module.fail_json(msg=str(exc))
    state_file = activation_record.state_path(p["audit_dir"], p["state_file"])
    entry["audit_file"] = p["audit_file"]
    try:
        written = activation_record.append(state_file, entry, run_audit.open_audit(p), run_audit.extra_events(p))
    except (ValueError, OSError, flag_store.FlagError) as exc:
        module.fail_json(msg="recording %s in %s: %s" % (entry["key"], state_file, os_error_text(exc)
                                                         if isinstance(exc, OSError) else exc))
    module.exit_json(changed=True, entry=entry, audit_head=written[-1])


if __name__ == "__main__":
    main()
