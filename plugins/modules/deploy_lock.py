#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: deploy_lock
short_description: Take, release or break the Nexus COS deployment lock
version_added: "1.0.0"
description:
  - One launch run at a time per host. The lock file names its holder (run id, user,
    controller, process, since when, lease end). A second run is refused at once with
    that holder named.
  - A lock whose holder is gone (lease ended, or its process on this host exited) is taken
    over and the takeover is audited (C(LOCK_STALE_RECOVERED)).
  - The companion action plugin fills in the controller's host name, process id and user.
author: Nexus COS platform team
extends_documentation_fragment:
  - nexus_cos.launch.audit
options:
  path:
    description: The lock file.
    type: path
    default: /var/lock/nexus-cos-phase4-deploy.lock
  state:
    description:
      - C(acquired) takes the lock for O(run_id); C(released) gives it back (only the run
        holding it can); C(broken) removes any holder's lock and needs O(reason).
    type: str
    choices: [acquired, released, broken]
    default: acquired
  lease_seconds:
    description: How long a holder that stops answering keeps the lock.
    type: int
    default: 1800
  holder:
    description: Who takes the lock, C({user, controller, pid}). Filled in by the action plugin.
    type: dict
    default: {}
  reason:
    description: Why the lock is broken (audited). Required with O(state=broken).
    type: str
  recover_run:
    description:
      - Run id whose lock may be taken over because its holder is known to be gone. The
        action plugin sets it when the holder ran on this controller and its process has
        exited (a run cut off by a lost connection), and says why in O(reason).
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - O(audit_events) are written after C(LOCK_ACQUIRED) and before C(LOCK_RELEASED), so a run's
    records are bracketed by its lock records.
  - Taking and releasing the lock is run bookkeeping, not configuration, and is reported
    as C(changed=false) so that a second run of a play shows no change.
'''

EXAMPLES = r'''
- name: Take the deployment lock
  nexus_cos.launch.deploy_lock:
    run_id: "{{ nexus_run_id }}"
    audit_file: "deployment-{{ nexus_run_stamp }}.log"
    audit_events:
      - event: DEPLOYMENT_START
        fields: {playbook: phase4}

- name: Give it back
  nexus_cos.launch.deploy_lock:
    state: released
    run_id: "{{ nexus_run_id }}"
'''

RETURN = r'''
lock:
  description: What happened, C(acquired), C(recovered), C(held), C(released), C(absent), C(not-ours), C(broken).
  returned: always
  type: str
previous_holder:
  description: The holder whose stale lock was recovered or broken.
  returned: when recovered or broken
  type: dict
holder:
  description: The lock's holder when the lock is refused.
  returned: on refusal
  type: dict
audit_head:
  description: The audit chain head after this module's records.
  returned: when audited
  type: dict
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import deploy_lock, run_audit


def main():
    argument_spec = dict(
        path=dict(type="path", default="/var/lock/nexus-cos-phase4-deploy.lock"),
        state=dict(type="str", choices=["acquired", "released", "broken"], default="acquired"),
        lease_seconds=dict(type="int", default=1800),
        holder=dict(type="dict", default={}),
        reason=dict(type="str"),
        recover_run=dict(type="str"),
    )
    argument_spec.update(run_audit.AUDIT_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("state", "broken", ["reason"]),
                                        ("state", "acquired", ["run_id"]),
                                        ("state", "released", ["run_id"])])
    p = module.params
    if p["lease_seconds"] < 60:
        module.fail_json(msg="lease_seconds must be at least 60, got %d" % p["lease_seconds"])
    try:
        log = None if module.check_mode else run_audit.open_audit(p)
        extra = run_audit.extra_events(p)
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    out = dict(changed=False)
    events = []
    try:
        if p["state"] == "acquired":
            holder = dict(p["holder"], run_id=p["run_id"])
            now = time.time()
            try:
                recover = (p["recover_run"], p["reason"] or "holder gone") if p["recover_run"] else None
                state, previous = deploy_lock.acquire(p["path"], holder, p["lease_seconds"], now, module.check_mode,
                                                      recover)
            except deploy_lock.LockHeld as exc:
                if log:
                    run_audit.write(log, [("LOCK_REFUSED", {"holder_run": exc.holder.get("run_id", "?"),
                                                            "holder_user": exc.holder.get("user", "?")})])
                module.fail_json(msg=str(exc), lock="refused", holder=exc.holder)
            out["lock"] = state
            if previous:
                out["previous_holder"] = previous
                events.append(("LOCK_STALE_RECOVERED", {"previous_run": previous.get("run_id", "?"),
                                                        "previous_user": previous.get("user", "?"),
                                                        "reason": previous["reason"]}))
            if state != "held":
                events.append(("LOCK_ACQUIRED", {"pid": holder.get("pid", os.getpid()), "timestamp": int(now)}))
        elif p["state"] == "released":
            state, current = deploy_lock.release(p["path"], p["run_id"], module.check_mode)
            out["lock"] = state
            if state == "not-ours":
                module.warn("deployment lock is held by run %s, not %s; left in place"
                            % (current.get("run_id"), p["run_id"]))
            if state == "released":
                # The run's own records (DEPLOYMENT_COMPLETE) come before the
                # release, so every run's records are bracketed by the lock.
                extra, events = [], extra + [("LOCK_RELEASED", {"timestamp": int(time.time())})]
        else:
            state, current = deploy_lock.force_break(p["path"], module.check_mode)
            out["lock"] = state
            if current:
                out["previous_holder"] = current
                events.append(("LOCK_BROKEN", {"previous_run": current.get("run_id", "?"), "reason": p["reason"]}))
        head = run_audit.write(log, events + extra)
    except (deploy_lock.LockError, OSError, ValueError) as exc:
        module.fail_json(msg="deployment lock %s: %s" % (p["path"], exc))
    if head:
        out["audit_head"] = head
    module.exit_json(**out)


if __name__ == "__main__":
    main()
