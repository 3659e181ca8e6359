# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
# The work is done on the controller, by the action plugin of the same name;
# this file documents it.
from __future__ import annotations

DOCUMENTATION = r'''
---
module: launch_guard
short_description: Watch the Nexus COS platform for a window and pull the emergency switch on a critical breach
version_added: "1.1.0"
description:
  - Watches the platform for O(minutes), one look every O(interval) seconds - module
    M(nexus_cos.launch.gateway_info) on the host - C(/health) and its latency, C(currentMode) and the flags served,
    every PF health endpoint. Each look is judged on the controller (ok, warn or critical, with the reasons) and
    shown as a progress line (time left, what the platform answered, the verdict).
  - "Critical by default - the platform unavailable (C(/health) not 200, or no flags served) for O(unavailable_seconds)
    without a break. Optional - the median latency above O(latency_ms), an error rate above O(error_rate), another
    access mode than O(expect_mode)."
  - On a critical verdict it pulls the emergency switch by itself (module M(nexus_cos.launch.kill_switch), with a
    reason that says what the guard saw, a run id of its own) and stops watching; with O(on_critical=alert) it only
    alerts and watches on. Each breach is sent to O(channels) (events C(guard_breach), C(kill_switch)).
  - Audited on the host - C(GUARD_START), C(GUARD_BREACH) (what it saw, what it did), C(GUARD_RECOVERED) (the
    first look out of breach, the incident resolved), C(GUARD_END), C(ALERT_SENT), C(ALERT_FAILED) or
    C(ALERT_SKIPPED).
  - Holds no deployment lock while it watches - it only reads, and an operator's rollback must not wait for the
    window. The switch takes the lock for its one execution. A live run holding the lock is not broken unless
    O(break_lock) - the guard says so and tries again at its next look while the breach lasts; a holder that is gone
    is taken over.
  - The outcome is returned, never failed (RV(outcome)); run the task with C(no_log) (O(channels) holds secrets),
    show RV(lines) and fail on anything but C(clean), as role C(nexus_cos.launch.launch_guard) does.
author: Nexus COS platform team (@nexus-cos)
options:
  url:
    description: Base URL of the gateway as seen from the host (the plays pass C(nexus_gateway_url)).
    type: str
    required: true
  minutes:
    description: Length of the window.
    type: float
    default: 15
  interval:
    description: Seconds from one look to the next.
    type: float
    default: 5
  request_timeout:
    description: Seconds one request of a look may take.
    type: float
    default: 3
  on_critical:
    description: What a critical verdict does - C(switch) pulls the emergency switch, C(alert) only alerts.
    type: str
    choices: [switch, alert]
    default: switch
  unavailable_seconds:
    description: Seconds the platform may be unavailable before the verdict is critical.
    type: float
    default: 30
  latency_ms:
    description: Median C(/health) latency over the last O(latency_samples) answers above which O(latency_level) is
      the verdict. Off when null.
    type: float
  latency_samples:
    description: Answers the latency median is taken over.
    type: int
    default: 5
  latency_level:
    description: Verdict of a latency above O(latency_ms).
    type: str
    choices: [warn, critical]
    default: warn
  error_rate:
    description: Fraction of the last O(error_window) looks with an error answer (no answer, 5xx; a PF endpoint's
      503 is a switched-off feature) above which O(error_rate_level) is the verdict. Off when null.
    type: float
  error_window:
    description: Looks the error rate is taken over.
    type: int
    default: 10
  error_rate_level:
    description: Verdict of an error rate above O(error_rate).
    type: str
    choices: [warn, critical]
    default: critical
  expect_mode:
    description: The access mode the gateway must serve. Empty - the mode it serves at the first answer.
    type: str
  mode_level:
    description: Verdict of another access mode than O(expect_mode).
    type: str
    choices: [warn, critical]
    default: warn
  break_lock:
    description: Let the switch break a deployment lock a live run holds.
    type: bool
    default: false
  channels:
    description:
      - The alert channels (C(nexus_alert_channels)); see M(nexus_cos.launch.alert).
      - Secret (URLs, tokens, routing keys), validated as C(no_log).
      - A breach is one incident (one C(dedup_key)) for the whole watch - paged once however many looks see it,
        resolved once (C(resolve) to PagerDuty, C(endsAt) to Alertmanager) at the first look that no longer does. An
        incident still in breach at the end (or once the switch is pulled) is left open for a person to resolve.
    type: list
    elements: dict
    default: []
  flag_store:
    description: The gateway's flag store, for the switch (the plays pass C(nexus_flag_store)).
    type: path
  pf_dir:
    description: Directory of the PF files, for the switch (the plays pass C(nexus_pf_dir)).
    type: path
  backup_dir:
    description: Directory of snapshots, for the switch (the plays pass C(nexus_backup_dir)).
    type: path
  lease_seconds:
    description: Lease of the lock while the switch holds it.
    type: int
  verify_timeout:
    description: Seconds the gateway has to serve founder mode once the switch is pulled.
    type: float
  host_name:
    description: The host's inventory name (alerts, the switch's scripts).
    type: str
notes:
  - The paths O(flag_store), O(pf_dir), O(audit_dir), O(backup_dir) and O(lock_path) are required with
    O(on_critical=switch). The guard takes no lock while it watches; the switch holds O(lock_path) for its one execution.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nexus_cos.launch.attributes.controller_action
  - nexus_cos.launch.host_paths.audit_paths
  - nexus_cos.launch.host_paths
attributes:
  check_mode:
    support: full
    details: Watches as usual; on a critical verdict runs the switch in check mode and says what it would change;
      audits and sends nothing.
'''

EXAMPLES = r'''
- name: Watch the platform for 15 minutes
  nexus_cos.launch.launch_guard:
    url: "{{ nexus_gateway_url }}"
    minutes: 15
    interval: 5
    unavailable_seconds: 30
    channels: "{{ nexus_alert_channels }}"
    flag_store: "{{ nexus_flag_store }}"
    pf_dir: "{{ nexus_pf_dir }}"
    audit_dir: "{{ nexus_audit_dir }}"
    backup_dir: "{{ nexus_backup_dir }}"
    lock_path: "{{ nexus_lock_path }}"
    host_name: "{{ inventory_hostname }}"
    audit_file: "activation-{{ nexus_run_stamp }}.log"
    run_id: "{{ nexus_run_id }}"
  no_log: true  # the alert channels' URLs and tokens are secrets
  register: watched

- name: Say what the guard saw
  ansible.builtin.debug:
    msg: "{{ watched.lines }}"

- name: Fail on a breach
  ansible.builtin.fail:
    msg: "{{ watched.msg }}"
  when: watched.outcome != 'clean'
'''

RETURN = r'''
outcome:
  description: C(clean) (the window passed with no critical verdict), C(switch_pulled), C(breach) (alerted only, or
    the switch could not be pulled) or C(error) (an option it cannot use; nothing was watched).
  returned: always
  type: str
msg:
  description: The outcome in words - what the guard saw and what it did.
  returned: always
  type: str
lines:
  description: What the operator sees besides the progress lines - the start, each breach, the switch, the alerts.
  returned: always
  type: list
  elements: str
looks:
  description: Number of looks taken.
  returned: always
  type: int
worst:
  description: The worst verdict of the window, C(ok), C(warn) or C(critical).
  returned: always
  type: str
breach:
  description: The first critical verdict, C({level, reasons, seen, at}) (C(at) seconds after the start), or null.
  returned: always
  type: dict
watched_s:
  description: Seconds watched.
  returned: unless outcome is error
  type: int
last:
  description: The last look, in words.
  returned: unless outcome is error
  type: str
expect_mode:
  description: The access mode the guard held the gateway to.
  returned: unless outcome is error
  type: str
started_at:
  description: When the watch began (seconds since the epoch, UTC); the samples' C(t) count from it.
  returned: unless outcome is error
  type: int
samples:
  description:
    - What each look saw, for the launch report's chart, C([{t, available, latency_ms, mode, level}]) with C(t) in
      seconds since RV(started_at). Only the newest 360 looks are kept (a 15 minute window at one look every 5 s fits
      twice over), so a long watch cannot grow the result without limit.
  returned: unless outcome is error
  type: list
  elements: dict
switch:
  description: The switch's outcome, C({state, run_id, confirmed, lock, seen_text, snapshot_dir, rollback_script, flags,
    msg, ...}); C(state) is C(confirmed), C(unconfirmed) (applied and kept), C(not_pulled) or C(would) (check mode).
  returned: when the switch was tried
  type: dict
alerts:
  description: What became of each alert sent.
  returned: always
  type: list
  elements: str
audit_errors:
  description: Records that could not be written.
  returned: unless outcome is error
  type: list
  elements: str
audit_head:
  description: The audit chain head after the guard's records.
  returned: when audited
  type: dict
'''
