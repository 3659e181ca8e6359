#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: activation_info
short_description: Read the activation state of a Nexus COS host
version_added: "1.0.0"
description:
  - Reads, changing nothing, what the activation gates decide on and what C(nexusctl status)
    shows; the flag store, the four PF files, the recorded activations (each cross-checked
    against its audit record), a summary of recent runs from the audit trail and the deployment
    lock's holder.
  - The gate (M(nexus_cos.launch.activation_gate)) runs this module on the host and decides on the
    controller. Named C(_info), as Ansible names modules that return data rather than facts.
author: Nexus COS platform team (@nexus-cos)
options:
  audit_dir:
    description: Directory of the audit trail (the plays pass C(nexus_audit_dir)).
    type: path
    required: true
  state_file:
    description: The activation state file. Defaults to C(activation-state.json) in O(audit_dir).
    type: path
  flag_store:
    description: The gateway's flag store (the plays pass C(nexus_flag_store)).
    type: path
    required: true
  pf_dir:
    description: Directory of the PF files (the plays pass C(nexus_pf_dir)).
    type: path
    required: true
  lock_path:
    description: The deployment lock (the plays pass C(nexus_lock_path)); its holder is reported.
    type: path
  runs_limit:
    description: How many of the newest audit chain files of each kind (deployment, activation, rollback) are summarized.
    type: int
    default: 30
extends_documentation_fragment:
  - nexus_cos.launch.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Read the flag store, PF files, recorded activations, recent runs and the lock
  nexus_cos.launch.activation_info:
    audit_dir: "{{ nexus_audit_dir }}"
    flag_store: "{{ nexus_flag_store }}"
    pf_dir: "{{ nexus_pf_dir }}"
    lock_path: "{{ nexus_lock_path }}"
  register: nexus_status_host
'''

RETURN = r'''
now:
  description: The host's clock, epoch seconds.
  returned: always
  type: int
scripts:
  description:
    - C({rollback, emergency}) paths of this collection's newest on-host scripts in the audit dir
      (C(nexus-<kind>-<stamp>.sh), or the older C(<kind>-<stamp>.sh)), never the platform's
      C(rollback-YYYYmmdd-HHMMSS.sh); a kind is left out when there is none.
  returned: always
  type: dict
audit_dir:
  description: The audit directory read.
  returned: always
  type: str
state_file:
  description: The activation state file read.
  returned: always
  type: str
state_error:
  description: Why the state file could not be read, or null.
  returned: always
  type: str
activations:
  description: Recorded activations, oldest first, each with C(audit_verified) and C(audit_problem).
  returned: always
  type: list
  elements: dict
runs:
  description:
    - Runs found in the audit trail, newest first, C({kind, file, run_id, playbook, started,
      completed, status, precheck_status}) (epoch seconds).
  returned: always
  type: list
  elements: dict
newest_record:
  description:
    - C({file, seq, event, time}) (epoch seconds) of the latest dated record among the chain files' last
      records, or null for an empty trail. The gates refuse a host clock earlier than it.
  returned: always
  type: dict
flag_store:
  description: C({path, document, error}) of the flag store.
  returned: always
  type: dict
pfs:
  description: "C({NAME: {path, document, error}}) of the four PF files."
  returned: always
  type: dict
lock:
  description:
    - C({holder, text, gone_reason}) of the deployment lock; holder null when unlocked.
    - C(text) says who holds it (a run of this collection, the platform deploy script's bare pid,
      or an unrecognised lock file); C(gone_reason) why that holder is dead, null while it may run.
  returned: when O(lock_path) is given
  type: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, deploy_lock
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import facts as activation_facts
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import record as activation_record


def read(p):
    """What the gates and nexusctl status read, as the module returns it."""
    state_file = activation_record.state_path(p["audit_dir"], p["state_file"])
    out = {"changed": False, "now": int(time.time()), "audit_dir": p["audit_dir"], "state_file": state_file}
    try:
        state = activation_record.read_state(state_file)
        out["activations"] = activation_record.verify_entries(state["activations"], p["audit_dir"])
        out["state_error"] = None
    except ValueError as exc:
        out["activations"] = []
        out["state_error"] = str(exc)
    out["runs"] = activation_record.read_runs(p["audit_dir"], p["runs_limit"])
    # This collection's newest on-host scripts, never the platform's.
    out["scripts"] = audit_log.newest_scripts(p["audit_dir"])
    newest = audit_log.newest_record(p["audit_dir"])
    out["newest_record"] = None if newest is None else {
        "file": newest.file, "seq": newest.record.seq, "event": newest.record.event,
        "time": newest.record.epoch}
    out["flag_store"] = activation_facts.read_flag_store(p["flag_store"])
    out["pfs"] = activation_facts.read_pfs(p["pf_dir"])
    if p["lock_path"]:
        holder = deploy_lock.read_holder(p["lock_path"])
        out["lock"] = {"holder": holder, "text": deploy_lock.describe_holder(holder) if holder else None,
                       "gone_reason": deploy_lock.gone_reason(holder, out["now"]) if holder else None}
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            audit_dir=dict(type="path", required=True),
            state_file=dict(type="path"),
            flag_store=dict(type="path", required=True),
            pf_dir=dict(type="path", required=True),
            lock_path=dict(type="path"),
            runs_limit=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**read(module.params))


if __name__ == "__main__":
    main()
