#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: activation_gate
short_description: Decide whether a Nexus COS activation may run, and what it changes
version_added: "1.0.0"
description:
  - Implemented as an action plugin. It reads the host's facts with
    M(nexus_cos.launch.activation_info), decides on the controller and has the decision's
    audit records written on the host (C(CLOCK_OVERRIDE), C(GATE_FORCED), C(LAUNCH_APPROVED),
    C(LAUNCH_GATE_WAIVED), C(ACTIVATION_GATE)).
  - Marketplace Phase 3 step 1 needs a passing Phase 4 prepare run no older than
    O(prepare_max_age_hours); steps 2 and 3 open O(wait_days) after the recorded activation of
    the step before; step 4 after step 3. Gate times come from recorded activations, each
    cross-checked with its audit record, never from the operator.
  - The Phase 4 launch needs O(confirm), a passing prepare run, approvals by distinct
    approvers covering the roles of C(global-launch.yaml) C(deployment.team_approval), each
    secret checked against its passlib hash in O(approvers), and every launch gate of the PF
    passed or waived with a reason.
  - A refused gate is returned with C(refused=true) and C(msg), not as a failure, so the task
    can run with C(no_log) (approval secrets) and the play still show why.
  - A forceable refusal is overridden by O(force_reason) (audited); the launch's confirmation,
    approvals and PF gates are never forced.
  - The holder of the deployment lock O(lock_path) is reported; the gate takes no lock.
author: Nexus COS platform team (@nexus-cos)
extends_documentation_fragment:
  - nexus_cos.launch.attributes
  - nexus_cos.launch.host_paths.audit_paths
  - nexus_cos.launch.host_paths
  - nexus_cos.launch.audit
options:
  kind:
    description: Which activation.
    type: str
    choices: [marketplace, launch]
    required: true
  step:
    description: Marketplace step, 1 to 4 (O(kind=marketplace)).
    type: int
  phase:
    description: Marketplace phase; only 3 has steps.
    type: int
    default: 3
  mode:
    description: Launch mode (O(kind=launch)).
    type: str
    choices: [global, soft]
  clock_now:
    description:
      - Test clock, epoch seconds or ISO 8601 UTC, used instead of the host's clock for the gates
        and the recorded time. Audited as C(CLOCK_OVERRIDE). Empty means the host's clock.
    type: str
  environment:
    description:
      - What the inventory is (C(nexus_environment)). O(clock_now) is refused unless it is C(sandbox) or C(test).
    type: str
    default: production
  force_reason:
    description: Reason to force a refused gate (audited as C(GATE_FORCED)).
    type: str
  confirm:
    description: The operator's confirmation of the launch.
    type: bool
    default: false
  approvals:
    description:
      - The launch approvals, C([{name, secret}]). A missing secret is read from the approvals file named
        by C(NEXUS_LAUNCH_APPROVALS_FILE) or from C(NEXUS_APPROVER_<NAME>_SECRET) on the controller.
      - Approvals are bound to one run and expire - the launch needs the approvals file,
        C({issued_at, nonce, run_id, secrets}) (nexusctl launch writes it), of the controller's user, mode 0600,
        naming O(run_id), issued at most O(approval_max_age_minutes) ago, its nonce not used before (the gate
        audits C(APPROVALS_ACCEPTED) with the nonce's SHA-256 and refuses it again, naming the earlier run).
    type: list
    elements: raw
  approval_max_age_minutes:
    description: How many minutes after C(issued_at) the approvals file stays valid.
    type: float
    default: 15
  approvers:
    description: "The inventory's approvers, C({NAME: {role, password_hash}})."
    type: dict
  waivers:
    description: "Launch gates waived, C({GATE: REASON})."
    type: dict
  prepare_max_age_hours:
    description: How old the passing prepare run may be.
    type: float
    default: 24
  wait_days:
    description: Days between marketplace steps 1, 2 and 3.
    type: float
    default: 7
  max_clock_skew:
    description:
      - Seconds the host's clock may differ from the controller's; beyond that the gate refuses (not
        forceable) naming both times. A host clock earlier than the newest audit record is refused too
        (forceable). Neither is waived by O(clock_now).
    type: float
    default: 120
  daily_limits:
    description: Daily NexCoin limits the PF must show, C({founders, creators, public}).
    type: dict
  state_file:
    description: The activation state file (default C(activation-state.json) in O(audit_dir)).
    type: path
  flag_store:
    description: The flag store (the plays pass C(nexus_flag_store)).
    type: path
    required: true
  pf_dir:
    description: The PF directory (the plays pass C(nexus_pf_dir)).
    type: path
    required: true
attributes:
  check_mode:
    support: full
    details: >-
      A preview: the gate is evaluated and its records are not written. The launch's confirmation and
      approvals, when not given, are listed in RV(needs) instead of refused; given, they are checked.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Gate marketplace step 2
  nexus_cos.launch.activation_gate:
    kind: marketplace
    step: 2
    flag_store: "{{ nexus_flag_store }}"
    pf_dir: "{{ nexus_pf_dir }}"
    audit_dir: "{{ nexus_audit_dir }}"
    audit_file: "activation-{{ nexus_run_stamp }}.log"
    run_id: "{{ nexus_run_id }}"
  register: gate

- name: Stop if the gate refused
  ansible.builtin.fail:
    msg: "{{ gate.msg }}"
  when: gate.refused
'''

RETURN = r'''
refused:
  description: Whether the gate refused.
  returned: success
  type: bool
msg:
  description: Why it refused (empty when open).
  returned: success
  type: str
already_applied:
  description: The activation is recorded and its flags and PF values hold; nothing to do.
  returned: success
  type: bool
enable:
  description: Flags the activation turns on.
  returned: success
  type: list
disable:
  description: Flags it turns off.
  returned: success
  type: list
cascade:
  description: Whether disabling cascades to dependants.
  returned: success
  type: bool
flags:
  description: "The same flags as M(nexus_cos.launch.feature_flag) takes them, C({NAME: true|false}), for one write."
  returned: success
  type: dict
pf_settings:
  description: "C([{file, settings: {dotted.key: value}}]) to apply."
  returned: success
  type: list
expect:
  description: What the gateway must report afterwards, C({marketplace_phase, access_mode, jurisdiction}).
  returned: success
  type: dict
entry:
  description: The activation entry to record once the change is verified.
  returned: success
  type: dict
notes:
  description: Things the operator should know (forced gates, auctions left off, ...).
  returned: success
  type: list
history:
  description:
    - The activations recorded on the host, oldest first, for the launch report,
      C([{key, applied_at, applied_at_utc, run_id, approvers, waived, forced_reason, undone_text}]).
  returned: when the host's facts were read
  type: list
  elements: dict
gates:
  description: >-
    Each gate's verdict, C({gate, verdict, reason, opens, forceable}): C(verdict) is open, refused, forced,
    waived or needed (a preview not given what a real run needs); C(opens) is when a refused gate opens
    by itself (ISO 8601 UTC), or empty.
  returned: success
  type: list
  elements: dict
needs:
  description: What a real run needs that a preview was not given (the confirmation, approvals, waivers), in words.
  returned: success
  type: list
  elements: str
preview:
  description: Whether the task ran in check mode, so nothing was audited and nothing may be applied.
  returned: success
  type: bool
'''
