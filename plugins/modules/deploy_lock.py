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
  - A lock whose holder is dead is taken over and the takeover is audited
    (C(LOCK_STALE_RECOVERED holder=... reason=...)). Dead means its lease ended, or it ran on this host and
    its process exited, or it is the bare pid the platform's own deploy script
    (C(deploy-phase-4-full-launch.sh)) leaves at the same path and that process is not running
    (C(holder=platform-deploy-script previous_pid=N)). A running platform script is refused,
    naming its pid and command line. A lock file that is neither (empty, garbage) is refused with
    its size (never its content), and taken over when one lease from its modification time has passed.
  - Only root's files are trusted. A lock or guard file that is a symbolic link, not a regular file, not
    owned by root or writable by others (anyone can create one first in C(/run/lock)) is never read nor
    followed; it is removed and audited (C(LOCK_UNTRUSTED_REMOVED file=... kind=... owner=... mode=...)),
    and the lock is taken. If it is planted again each time, the lock is refused, never waited on.
  - The lock file is created exclusively with mode 0600 (it names user, controller and process).
  - The same rule, in C(module_utils/deploy_lock.py), is followed by the on-host rollback script
    and by C(nexusctl unlock); see docs/rollback.md, "The deployment lock".
  - The companion action plugin fills in the controller's host name, process id and user.
author: Nexus COS platform team (@nexus-cos)
extends_documentation_fragment:
  - nexus_cos.launch.attributes
  - nexus_cos.launch.host_paths.audit_paths
  - nexus_cos.launch.audit
options:
  path:
    description: The lock file (the plays pass C(nexus_lock_path)).
    type: path
    required: true
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
  - Taking, releasing or breaking the lock writes the lock file and audit records, and is
    reported as C(changed). The plays mark the task C(changed_when=false) where the lock is run
    bookkeeping (every launch play), so that a second run of a play shows no change.
'''

EXAMPLES = r'''
- name: Take the deployment lock
  nexus_cos.launch.deploy_lock:
    path: "{{ nexus_lock_path }}"
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
  description:
    - What happened, C(acquired), C(recovered), C(held), C(released), C(absent), C(not-ours), C(broken),
      C(refused).
    - C(lost) on release when the run's lock was removed or replaced by another tool during the run
      (audited as C(LOCK_LOST found=absent) or C(found=<kind>) with the new holder).
  returned: always
  type: str
lock_lost:
  description:
    - With C(lock=lost), what another tool did, in words, e.g. that another tool removed the deployment lock during
      this run.
  returned: when the lock was lost
  type: str
previous_holder:
  description:
    - The holder whose stale lock was recovered or broken, with its C(kind)
      (C(nexus_cos.launch), C(platform-deploy-script) or C(unrecognised)).
  returned: when recovered or broken
  type: dict
holder:
  description: The lock's holder when the lock is refused, with its C(kind).
  returned: on refusal
  type: dict
holder_text:
  description: Who held (or holds) the lock, in words, e.g. C(run 20260115T103045Z-1a2b3c (user alice on laptop, pid 4242)).
  returned: when refused, recovered or broken
  type: str
audit_head:
  description: The audit chain head after this module's records.
  returned: when audited
  type: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import deploy_lock, run_audit
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import os_error_text

# Outcomes that wrote or removed the lock file.
CHANGED_STATES = ("acquired", "recovered", "released", "broken")


def main():
    argument_spec = dict(
        path=dict(type="path", required=True),
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
    head = None
    try:
        if p["state"] == "acquired":
            holder = dict(p["holder"], run_id=p["run_id"])
            try:
                recover = (p["recover_run"], p["reason"] or "holder gone") if p["recover_run"] else None
                taken = deploy_lock.acquire(p["path"], holder, p["lease_seconds"], time.time(), module.check_mode,
                                            recover)
            except deploy_lock.LockHeld as exc:
                msg = str(exc)
                try:
                    run_audit.write(log, [exc.event])
                except (OSError, ValueError) as audit_exc:
                    # Who holds the lock matters more than the record of
                    # the refusal: say both, and let a dead holder be taken over.
                    msg += " (the LOCK_REFUSED record could not be written: %s)" % os_error_text(audit_exc)
                module.fail_json(msg=msg, lock="refused", holder=exc.holder,
                                 holder_text=deploy_lock.describe_holder(exc.holder))
            out["lock"] = taken.state
            if taken.previous:
                out["previous_holder"] = taken.previous
                out["holder_text"] = deploy_lock.describe_holder(taken.previous)
            events = taken.events
            try:
                head = run_audit.write(log, events + extra)
            except (OSError, ValueError) as exc:
                # A run whose start cannot be audited must not start, and must
                # not keep the lock it just took.
                if not module.check_mode and taken.state != "held":
                    deploy_lock.release(p["path"], p["run_id"])
                module.fail_json(msg="the audit trail cannot be written, so the run does not start: %s. The "
                                     "deployment lock %s was released again; nothing was changed. Free the space "
                                     "(or fix the directory) and run again" % (os_error_text(exc), p["path"]),
                                 lock="released-after-audit-failure")
        elif p["state"] == "released":
            events = []
            state, current = deploy_lock.release(p["path"], p["run_id"], module.check_mode, events)
            if state in ("absent", "not-ours") and not module.check_mode:
                # A run releases only a lock it took (deploy_finish runs this
                # only then): gone or someone else's now means another tool
                # removed or replaced it while the run was working.
                lost = deploy_lock.LockLost(p["path"], p["run_id"], current)
                module.warn("%s; %s" % (lost, "nothing to release" if current is None else "left in place"))
                out["lock_lost"] = str(lost)
                events.append(lost.event)
                state = "lost"
            elif state == "not-ours":
                module.warn("deployment lock is held by %s, not run %s; left in place"
                            % (deploy_lock.describe_holder(current), p["run_id"]))
            out["lock"] = state
            if state == "released":
                # The run's own records (DEPLOYMENT_COMPLETE) come before the
                # release, so every run's records are bracketed by the lock.
                extra, events = [], extra + events + [("LOCK_RELEASED", {"timestamp": int(time.time())})]
                try:
                    head = run_audit.write(log, events)
                except (OSError, ValueError) as exc:
                    module.fail_json(msg="the deployment lock %s was released, but the run's closing records (%s) "
                                         "could not be written: %s" % (p["path"], ", ".join(e for e, dummy in events),
                                                                       os_error_text(exc)),
                                     lock=state, changed=not module.check_mode)
            else:
                head = run_audit.write(log, extra + events)
        else:
            broken = deploy_lock.force_break(p["path"], p["reason"], module.check_mode)
            out["lock"] = broken.state
            if broken.previous:
                out["previous_holder"] = broken.previous
                out["holder_text"] = deploy_lock.describe_holder(broken.previous)
            events = broken.events
            head = run_audit.write(log, events + extra)
    except deploy_lock.LockRaced as exc:
        module.fail_json(msg=str(exc), lock="refused")
    except (deploy_lock.LockError, OSError, ValueError) as exc:
        module.fail_json(msg="deployment lock %s: %s" % (p["path"], os_error_text(exc) if isinstance(exc, OSError)
                                                         else exc))
    # The lock file was written or removed (a check run touches nothing).
    out["changed"] = not module.check_mode and out.get("lock") in CHANGED_STATES
    if head:
        out["audit_head"] = head
    module.exit_json(**out)


if __name__ == "__main__":
    main()
