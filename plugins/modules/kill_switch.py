#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: kill_switch
short_description: Pull the Nexus COS emergency switch on the host, and keep it pulled
version_added: "1.1.0"
description:
  - The kill switch of DESIGN section 7 - public signups off, new transactions frozen, founder
    mode, whatever state things are in - as one job on the flag store host. It runs the same code
    as the on-host C(nexus-emergency-<stamp>.sh) every run leaves (module_utils C(emergency)).
  - Takes the deployment lock. A holder that is gone is taken over (C(LOCK_STALE_RECOVERED)); a
    live holder's lock is broken (C(LOCK_BROKEN)) unless O(break_lock=false), as the switch does not
    wait. Needs no passing prepare run.
  - Snapshots the flag store and PF files first, with the snapshot's own C(nexus-rollback-<stamp>.sh) and
    C(nexus-emergency-<stamp>.sh), so the switch can be rolled back in turn; then the flags in one atomic
    write, the PF values round-trip, the gateway reloaded and polled until it serves founder mode.
  - Never undone automatically. When the gateway does not confirm, the switch stays applied, the
    module fails saying what it wrote, what the gateway served and what to check, and audits
    C(EMERGENCY_SWITCH_UNCONFIRMED). Confirmed, it records C(EMERGENCY_SWITCH) in the activation state.
  - An audit record that cannot be written (a full disk) does not stop the switch; it is reported
    in RV(audit_errors).
  - Reads the flag store as the platform's service does, not as C(validate) does - a duplicate key (the last
    wins), C(enabled) null, any size, through a symlink (its target is replaced, the link kept). A PF file it
    cannot read or edit is named and skipped, the flags are still pulled, and the module fails with RV(outcome)
    C(pf_skipped). A flag store the service cannot parse is not rewritten; the gateway is reloaded and must
    serve no flags (access mode none), RV(outcome) C(store_serves_nothing).
  - The companion action plugin fills O(holder) on the controller.
author: Nexus COS platform team (@nexus-cos)
options:
  flag_store:
    description: The gateway's flag store (the plays pass C(nexus_flag_store)).
    type: path
    required: true
  pf_dir:
    description: Directory of the PF files (the plays pass C(nexus_pf_dir)).
    type: path
    required: true
  audit_dir:
    description: The audit trail directory; records go to C(activation-<stamp>.log) (the plays pass C(nexus_audit_dir)).
    type: path
    required: true
  backup_dir:
    description: Directory of snapshots (the plays pass C(nexus_backup_dir)).
    type: path
    required: true
  lock_path:
    description: The deployment lock (the plays pass C(nexus_lock_path)).
    type: path
    required: true
  lease_seconds:
    description: Lease of the lock while the switch holds it.
    type: int
    default: 1800
  break_lock:
    description: Break a live holder's lock instead of stopping.
    type: bool
    default: true
  recover_run:
    description: Run id of a holder the controller knows is gone (its ansible-playbook process exited).
    type: str
  gateway_url:
    description: Base URL of the gateway as seen from the host (the plays pass C(nexus_gateway_url)).
    type: str
    required: true
  verify_timeout:
    description: Seconds the gateway has to serve founder mode.
    type: float
    default: 20
  reason:
    description: Why the switch is pulled (audited).
    type: str
    default: ""
  run_id:
    description: The run's id.
    type: str
    required: true
  stamp:
    description: UTC stamp of the run. Default the stamp that starts O(run_id).
    type: str
  host_name:
    description: The host's inventory name, written into the scripts' comments.
    type: str
  holder:
    description: Who pulls the switch (user, controller, pid); filled in by the action plugin.
    type: dict
    default: {}
  runtime_files:
    description: The on-host runtime for the snapshot's scripts. Default the sources this module carries.
    type: dict
    default: {}
extends_documentation_fragment:
  - nexus_cos.launch.attributes
attributes:
  check_mode:
    support: full
    details: Shows the flag and PF changes as diffs; takes no lock and writes nothing.
  diff_mode:
    support: full
'''

EXAMPLES = r'''
- name: Pull the kill switch
  nexus_cos.launch.kill_switch:
    flag_store: "{{ nexus_flag_store }}"
    pf_dir: "{{ nexus_pf_dir }}"
    audit_dir: "{{ nexus_audit_dir }}"
    backup_dir: "{{ nexus_backup_dir }}"
    lock_path: "{{ nexus_lock_path }}"
    gateway_url: "{{ nexus_gateway_url }}"
    run_id: "{{ nexus_run_id }}"
    reason: fraud wave
'''

RETURN = r'''
applied:
  description: Whether the flag store and PF files hold the switch (written now or already in place), confirmed or not.
  returned: always
  type: bool
confirmed:
  description: Whether the gateway served founder mode in time.
  returned: always
  type: bool
expected:
  description:
    - What a gateway reading the flag store must serve once the switch is written, C({access_mode, marketplace_phase,
      flags}). The role holds a fleet's other gateways to it.
  returned: when the switch was decided (not when the lock or the flag store stopped it first)
  type: dict
  sample: {access_mode: founder_beta, marketplace_phase: 0, flags: 9}
seen:
  description: What the gateway served last, C({access_mode, flags, marketplace_phase, ...}).
  returned: always
  type: dict
seen_text:
  description: What the gateway served, in words.
  returned: always
  type: str
lock:
  description: How the lock was taken, C(acquired), C(recovered) (holder gone) or C(broken) (a live holder's).
  returned: not in check mode
  type: str
previous_holder:
  description: The holder whose lock was taken over or broken.
  returned: when there was one
  type: dict
flag_changes:
  description: Flags switched, C([{name, before, after}]).
  returned: always
  type: list
  elements: dict
pf_changes:
  description: PF values set, C([{file, key, before, after}]).
  returned: always
  type: list
  elements: dict
pf_skipped:
  description: Why PF files were not edited (no PyYAML on the host, or each file that could not be read or written), or null.
  returned: always
  type: str
pf_not_edited:
  description: "Each PF file the switch could not edit, C({file: why}); the flags are switched all the same."
  returned: always
  type: dict
outcome:
  description:
    - C(pulled), C(in_place) (succeeded); C(pf_skipped) (pulled and confirmed, a PF file not edited), C(unconfirmed)
      (applied and kept), C(store_serves_nothing) (the flag store does not parse as the service reads it; not
      rewritten, the gateway reloaded), C(not_pulled), C(stopped) (part way) or C(check).
  returned: always
  type: str
outcome_text:
  description: The outcome in words, as the run's first line says it.
  returned: always
  type: str
notes:
  description: What the switch could not do on this store, e.g. founder mode that cannot be turned on (the public flags are off all the same).
  returned: when the switch was decided
  type: list
  elements: str
next_command:
  description: The command that pulls the switch again.
  returned: always
  type: str
reason_truncated:
  description: Whether the reason was cut to RV(reason_limit_bytes) UTF-8 bytes in the records.
  returned: always
  type: bool
reason_bytes:
  description: Size of the reason as given, in UTF-8 bytes.
  returned: always
  type: int
reason_limit_bytes:
  description: The most of a reason the records keep.
  returned: always
  type: int
snapshot_dir:
  description: The snapshot taken before the switch.
  returned: not in check mode
  type: str
rollback_script:
  description: The on-host script that undoes this switch.
  returned: not in check mode
  type: str
emergency_script:
  description: The on-host script that pulls the switch again with no controller.
  returned: not in check mode
  type: str
audit_errors:
  description: Audit records that could not be written, each with its path and reason.
  returned: always
  type: list
  elements: str
audit_head:
  description: The audit chain head after the switch's records.
  returned: when audited
  type: dict
elapsed_ms:
  description: Time the switch took on the host.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import emergency
from ansible_collections.nexus_cos.launch.plugins.module_utils.numbers import finite_number
from ansible_collections.nexus_cos.launch.plugins.module_utils.run_context import HostPaths, RunContext
# The snapshot's lib/ holds the rollback command (snapshot.runtime_files reads
# it from this module's payload): imported so that Ansible ships it.
from ansible_collections.nexus_cos.launch.plugins.module_utils import rollback_cli  # noqa: F401 pylint: disable=unused-import


def main():
    module = AnsibleModule(
        argument_spec=dict(
            flag_store=dict(type="path", required=True),
            pf_dir=dict(type="path", required=True),
            audit_dir=dict(type="path", required=True),
            backup_dir=dict(type="path", required=True),
            lock_path=dict(type="path", required=True),
            lease_seconds=dict(type="int", default=1800),
            break_lock=dict(type="bool", default=True),
            recover_run=dict(type="str"),
            gateway_url=dict(type="str", required=True),
            verify_timeout=dict(type="float", default=20),
            reason=dict(type="str", default=""),
            run_id=dict(type="str", required=True),
            stamp=dict(type="str"),
            host_name=dict(type="str"),
            holder=dict(type="dict", default={}),
            runtime_files=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    p = module.params
    stamp = p["stamp"] or p["run_id"][:16]
    if p["lease_seconds"] < 60:
        module.fail_json(msg="lease_seconds must be at least 60, got %d" % p["lease_seconds"])
    try:
        finite_number(p["verify_timeout"], "verify_timeout", "seconds", minimum=0)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    recover = (p["recover_run"], "controller process of that run has exited") if p["recover_run"] else None
    paths = HostPaths(p["flag_store"], p["pf_dir"], p["backup_dir"], p["audit_dir"], p["lock_path"], p["gateway_url"])
    run = RunContext(paths, p["run_id"], stamp=stamp, host=p["host_name"], holder=p["holder"],
                     verify_timeout=p["verify_timeout"], lease_seconds=p["lease_seconds"])
    try:
        result = emergency.pull(run, reason=p["reason"], check_mode=module.check_mode, break_lock=p["break_lock"],
                                recover=recover, runtime_files=p["runtime_files"] or None)
    except emergency.SwitchFailed as exc:
        module.fail_json(msg=str(exc), **_shown(module, exc.result))
    module.exit_json(**_shown(module, result))


def _shown(module, result):
    out = dict(result)
    diffs = out.pop("diffs", [])
    out.pop("decision", None)
    if module._diff:
        out["diff"] = diffs
    return out


if __name__ == "__main__":
    main()
