#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: activation_state
short_description: Read, apply and record the activation state of a Nexus COS host
version_added: "1.0.0"
description:
  - The host side of activation (marketplace Phase 3 steps, the Phase 4 launch, the emergency
    switch). The decisions are made on the controller by M(nexus_cos.launch.activation_gate);
    this module reads the facts they need and carries out what they decide.
  - C(action=query) reads, changing nothing, the flag store, the four PF files, the recorded
    activations (each cross-checked against its audit record), a summary of recent runs from
    the audit trail and the deployment lock's holder.
  - C(action=apply) makes an activation's changes. It works out every new file first; with
    O(snapshot_dir) it writes the hashes the change will leave into the snapshot's C(after.json)
    before the first write, so that a run killed halfway leaves each file as it was before or
    as predicted and its rollback restores without force. Then all flag changes in one atomic
    write of the flag store (with the semantics of M(nexus_cos.launch.feature_flag)), then the PF
    values round-trip (as M(nexus_cos.launch.pf_setting)). Audits C(FLAGS_CHANGED) and
    C(PF_SETTINGS_CHANGED).
  - C(action=record) records an activation, first as an audit record
    (C(ACTIVATION_STEP_APPLIED), or C(EMERGENCY_SWITCH)), then in the state file
    C(activation-state.json) of the audit directory, written atomically.
  - C(action=audit) writes O(audit_events) only (gate decisions made on the controller).
author: Nexus COS platform team
extends_documentation_fragment:
  - nexus_cos.launch.audit
options:
  action:
    description: What to do.
    type: str
    choices: [query, apply, record, audit]
    default: query
  state_file:
    description: The activation state file. Defaults to C(activation-state.json) in O(audit_dir).
    type: path
  flag_store:
    description: The gateway's flag store.
    type: path
    default: /opt/nexus-cos/config/feature-flags.json
  pf_dir:
    description: Directory of the PF files.
    type: path
    default: /opt/nexus-cos/pfs
  lock_path:
    description:
      - The deployment lock. With C(action=query) its holder is reported; with C(apply) and
        C(record) the module refuses to act unless O(run_id) holds it.
    type: path
  runs_limit:
    description: How many of the newest audit chain files of each kind (deployment, activation, rollback) C(action=query) summarizes.
    type: int
    default: 30
  enable:
    description: Flags to turn on (C(action=apply)); flags they require are turned on first.
    type: list
    elements: str
    default: []
  disable:
    description: Flags to turn off (C(action=apply)).
    type: list
    elements: str
    default: []
  cascade:
    description: Also turn off enabled flags that depend on a disabled one (C(action=apply)).
    type: bool
    default: false
  now:
    description: ISO 8601 time written to the flag store's C(updated) when it changes.
    type: str
  pf_settings:
    description: PF values to set (C(action=apply)), C([{file, settings}]) with C(file) a name in O(pf_dir).
    type: list
    elements: dict
    default: []
  snapshot_dir:
    description: The run's snapshot; C(action=apply) writes the predicted C(after.json) there first.
    type: path
  entry:
    description:
      - The activation to record (C(action=record)), as returned by the gate in C(entry).
        Keys C(key), C(applied_at), C(applied_at_utc), C(run_id), C(audit_event) and optional
        C(forced_reason), C(clock_override), C(approvers), C(waived), C(reason), C(from_mode).
    type: dict
attributes:
  check_mode:
    support: full
    details: C(apply) reports the change and its diffs; nothing is written in check mode.
  diff_mode:
    support: full
    details: C(apply) only.
notes:
  - Recording and audit writes are records of a run, not configuration, and report
    C(changed=false) so that a second identical run reports no change.
'''

EXAMPLES = r'''
- name: Read what the gate needs
  nexus_cos.launch.activation_state:
    audit_dir: /var/log/nexus-cos/phase4-audit
    lock_path: /var/lock/nexus-cos-phase4-deploy.lock
  register: facts

- name: Switch the launch flags in one write, then the PF values
  nexus_cos.launch.activation_state:
    action: apply
    enable: [PUBLIC_FULL_LAUNCH_MODE, JURISDICTION_ENGINE_ENABLED]
    disable: [FOUNDER_BETA_MODE, PUBLIC_SOFT_LAUNCH_MODE]
    pf_settings:
      - file: global-launch.yaml
        settings: {feature_flags.public_signup: true, visibility_control.seo_enabled: true}
    snapshot_dir: "/opt/nexus-cos/backups/phase4/{{ nexus_run_stamp }}"
    lock_path: /var/lock/nexus-cos-phase4-deploy.lock
    run_id: "{{ nexus_run_id }}"
'''

RETURN = r'''
now:
  description: The host's clock, epoch seconds (C(action=query)).
  returned: action=query
  type: int
activations:
  description: Recorded activations, oldest first, each with C(audit_verified) and C(audit_problem).
  returned: action=query
  type: list
  elements: dict
runs:
  description:
    - Runs found in the audit trail, newest first, C({kind, file, run_id, playbook, started,
      completed, status, precheck_status}) (epoch seconds).
  returned: action=query
  type: list
  elements: dict
flag_store:
  description: C({path, document, error}) of the flag store.
  returned: action=query
  type: dict
pfs:
  description: "C({NAME: {path, document, error}}) of the four PF files."
  returned: action=query
  type: dict
lock:
  description:
    - C({holder, text, gone_reason}) of the deployment lock; holder null when unlocked.
    - C(text) says who holds it (a run of this collection, the platform deploy script's bare pid,
      or an unrecognised lock file); C(gone_reason) why that holder is dead, null while it may run.
  returned: action=query and lock_path given
  type: dict
changes:
  description: Flags whose C(enabled) changes, C([{name, before, after}]).
  returned: action=apply
  type: list
  elements: dict
pf_changes:
  description: PF values that change, C([{file, key, before, after}]).
  returned: action=apply
  type: list
  elements: dict
files:
  description: Files the change writes.
  returned: action=apply
  type: list
  elements: str
access_mode_after:
  description: The access mode the flag store gives after the change.
  returned: action=apply, when it wrote
  type: str
entry:
  description: The entry as recorded, with C(audit_seq) and C(audit_chain).
  returned: action=record
  type: dict
audit_head:
  description: The audit chain head after this module's records.
  returned: when audited
  type: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import (deploy_lock, flag_store, pf_document, run_audit,
                                                                       snapshot)
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import change as activation_change
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import record as activation_record


def query(module, p, state_file):
    out = {"changed": False, "now": int(time.time()), "audit_dir": p["audit_dir"],
           "state_file": state_file}
    try:
        state = activation_record.read_state(state_file)
        out["activations"] = activation_record.verify_entries(state["activations"], p["audit_dir"])
        out["state_error"] = None
    except ValueError as exc:
        out["activations"] = []
        out["state_error"] = str(exc)
    out["runs"] = activation_record.read_runs(p["audit_dir"], p["runs_limit"])
    out["flag_store"] = activation_change.read_flag_store(p["flag_store"])
    out["pfs"] = activation_change.read_pfs(p["pf_dir"])
    if p["lock_path"]:
        holder = deploy_lock.read_holder(p["lock_path"])
        out["lock"] = {"holder": holder, "text": deploy_lock.describe_holder(holder) if holder else None,
                       "gone_reason": deploy_lock.gone_reason(holder, out["now"]) if holder else None}
    module.exit_json(**out)


def _assert_lock(module, p):
    if p["lock_path"]:
        try:
            deploy_lock.assert_held(p["lock_path"], p["run_id"])
        except deploy_lock.LockError as exc:
            module.fail_json(msg=str(exc))


def apply(module, p):
    """All flag changes in one write of the flag store, then the PF values."""
    if not module.check_mode:   # a check run takes no lock
        _assert_lock(module, p)
    args = dict(enable=p["enable"], disable=p["disable"], cascade=p["cascade"], pf_settings=p["pf_settings"])
    try:
        change = activation_change.prepare(p["flag_store"], p["pf_dir"], now=p["now"], **args)
    except (flag_store.FlagError, pf_document.PFEditError) as exc:
        module.fail_json(msg=str(exc))
    result = dict(change.summary(), changed=change.changed)
    if module._diff:
        result["diff"] = change.diffs
    if module.check_mode or not change.changed:
        module.exit_json(**result)
    try:
        if p["snapshot_dir"]:
            activation_change.predict_after(p["snapshot_dir"], change.texts, p["run_id"])
        events = activation_change.write(change, p["flag_store"], p["pf_dir"], **args)
        result["access_mode_after"] = change.access_mode_after
        head = run_audit.write(run_audit.open_audit(p), events + run_audit.extra_events(p)) if p["audit_file"] \
            else None
        if head:
            result["audit_head"] = head
    except (flag_store.FlagError, pf_document.PFEditError, snapshot.SnapshotError, ValueError, OSError) as exc:
        module.fail_json(msg="applying the change: %s" % exc, **result)
    module.exit_json(**result)


def record(module, p, state_file):
    entry = dict(p["entry"] or {})
    for key in ("key", "applied_at", "applied_at_utc", "run_id", "audit_event"):
        if key not in entry:
            module.fail_json(msg="entry: key %s is missing; expected the entry the gate returned" % key)
    if module.check_mode:
        module.exit_json(changed=False, entry=entry)
    _assert_lock(module, p)
    if not p["audit_file"]:
        module.fail_json(msg="audit_file is required with action=record: every activation is audited")
    entry["audit_file"] = p["audit_file"]
    try:
        written = activation_record.append(state_file, entry, run_audit.open_audit(p), run_audit.extra_events(p))
    except (ValueError, OSError, flag_store.FlagError) as exc:
        module.fail_json(msg="recording %s in %s: %s" % (entry["key"], state_file, exc))
    module.exit_json(changed=False, entry=entry, audit_head=written[-1])


def audit(module, p):
    if module.check_mode:
        module.exit_json(changed=False)
    try:
        head = run_audit.write(run_audit.open_audit(p), run_audit.extra_events(p))
    except (ValueError, OSError) as exc:
        module.fail_json(msg="audit: %s" % exc)
    out = {"changed": False}
    if head:
        out["audit_head"] = head
    module.exit_json(**out)


def main():
    argument_spec = dict(
        action=dict(type="str", choices=["query", "apply", "record", "audit"], default="query"),
        state_file=dict(type="path"),
        flag_store=dict(type="path", default="/opt/nexus-cos/config/feature-flags.json"),
        pf_dir=dict(type="path", default="/opt/nexus-cos/pfs"),
        lock_path=dict(type="path"),
        runs_limit=dict(type="int", default=30),
        enable=dict(type="list", elements="str", default=[]),
        disable=dict(type="list", elements="str", default=[]),
        cascade=dict(type="bool", default=False),
        now=dict(type="str"),
        pf_settings=dict(type="list", elements="dict", default=[]),
        snapshot_dir=dict(type="path"),
        entry=dict(type="dict"),
    )
    argument_spec.update(run_audit.AUDIT_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("action", "record", ["entry", "run_id"]), ("action", "apply", ["run_id"])])
    p = module.params
    state_file = activation_record.state_path(p["audit_dir"], p["state_file"])
    if p["action"] == "query":
        query(module, p, state_file)
    elif p["action"] == "apply":
        apply(module, p)
    elif p["action"] == "record":
        record(module, p, state_file)
    else:
        audit(module, p)


if __name__ == "__main__":
    main()
