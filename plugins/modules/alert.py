# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
# The work is done on the controller, by the action plugin of the same name;
# this file documents it.
from __future__ import annotations

DOCUMENTATION = r'''
---
module: alert
short_description: Send one Nexus COS event to the inventory's alert channels, never failing the run
version_added: "1.1.0"
description:
  - "Sends one event (launch start and end, a marketplace step, a refused gate, an automatic rollback, the kill
    switch, a launch guard breach) to every channel of O(channels) - a generic JSON webhook
    (C({source, event, level, severity, action, dedup_key, text, host, run_id, at, details}),
    C(Authorization: Bearer <token>) when the channel has a token), a Slack incoming webhook (C({\"text\": ...})),
    PagerDuty (Events API v2) or Alertmanager (API v2, C(POST <url>/api/v2/alerts)) - from the controller."
  - "Every event carries a C(severity) decided from its O(event) and O(level) by one table (the seed's alerting
    thresholds: C(critical) page within a minute, C(high) 5 minutes, C(medium) 30 minutes, C(low) a ticket); a
    channel with C(min_severity) skips what is below it (the result says skipped, not failed). Every event carries
    a C(dedup_key), a hash of the event, the host and the run, so the same incident pages once."
  - Every channel is sent to at once; an attempt with no answer, a 5xx or a 429 is tried again (C(retries), default
    2), and all attempts and pauses end inside 60 s, the critical budget.
  - Then audits, on the host, C(ALERT_SENT) or C(ALERT_FAILED) for each channel (module
    M(nexus_cos.launch.audit_record)), with the channel's name and the reason of a failure only.
  - Never fails and never waits past each channel's timeout (default 3 s) - a channel that fails, definitions that
    cannot be used, a record that cannot be written are returned in RV(lines). No channels - nothing is sent or
    audited, and RV(lines) says so in one line.
  - URLs and tokens are secrets (a Slack webhook URL is a credential) - run the task with C(no_log), and show
    RV(lines), which never hold one; so does role C(nexus_cos.launch.alert).
  - Why not C(community.general.slack) - it posts only to C(hooks.slack.com) with a fixed 10 s timeout, so it can
    neither reach a Slack-compatible gateway or a test receiver nor be bounded tighter.
author: Nexus COS platform team (@nexus-cos)
options:
  channels:
    description:
      - The channels, C(nexus_alert_channels) in the plays - C([{name, type, url, token, routing_key, timeout,
        min_severity, retries}]), C(type) C(webhook), C(slack), C(pagerduty) or C(alertmanager), C(timeout) in
        seconds for one attempt (0 to 30, default 3), C(min_severity) C(critical), C(high), C(medium) or C(low)
        (default C(low), everything), C(retries) 0 to 5 (default 2).
      - C(pagerduty) takes C(routing_key) (the integration key, a secret) and C(url) (default
        C(https://events.pagerduty.com/v2/enqueue)); C(alertmanager) takes C(url), Alertmanager's base URL, and an
        optional C(token) sent as a bearer token (an authenticating proxy).
      - Checked here as well as by role C(nexus_cos.launch.launch_context) - a problem is returned, not raised.
    type: list
    elements: dict
    default: []
  event:
    description: What happened.
    type: str
    required: true
    choices: [launch_start, launch_end, marketplace_step, gate_refused, automatic_rollback, kill_switch, guard_breach]
  level:
    description:
      - How urgent. Ignored for C(kill_switch) with O(switch), which is always C(critical).
      - With O(event), it decides the event's severity (one table, documented in the README's Alerts section).
    type: str
    choices: [info, warning, critical]
    default: info
  text:
    description: What happened, in words. Required unless O(event=kill_switch) with O(switch).
    type: str
  details:
    description: Facts a receiver may act on (the activation, its state, the reason). Never secrets.
    type: dict
    default: {}
  switch:
    description:
      - For O(event=kill_switch) - the registered result of M(nexus_cos.launch.kill_switch); the text and details
        are then the switch's own words (pulled and confirmed, pulled and kept although the gateway did not
        confirm it, not pulled). C(details.reason) is kept.
    type: dict
  host:
    description: The host the event is about (the plays pass C(inventory_hostname)).
    type: str
  run_id:
    description: The run's id, sent and audited.
    type: str
  audit_dir:
    description: The audit trail directory on the host (the plays pass C(nexus_audit_dir)).
    type: path
  audit_file:
    description: The run's chain file the records go to. Without it nothing is audited.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nexus_cos.launch.attributes.controller_action
attributes:
  check_mode:
    support: full
    details: Nothing is sent or audited in check mode.
'''

EXAMPLES = r'''
- name: Alert the end of the launch
  nexus_cos.launch.alert:
    channels: "{{ nexus_alert_channels }}"
    event: launch_end
    level: info
    text: global launch applied and confirmed by the gateway
    details: {activation: launch_global, state: applied}
    host: "{{ inventory_hostname }}"
    run_id: "{{ nexus_run_id }}"
    audit_dir: "{{ nexus_audit_dir }}"
    audit_file: "activation-{{ nexus_run_stamp }}.log"
  no_log: true  # the channels' URLs and tokens are secrets
  register: sent

- name: Show what was sent
  ansible.builtin.debug:
    msg: "{{ sent.lines }}"
'''

RETURN = r'''
lines:
  description: What the operator sees - to which channels the event went, which failed and why, audit problems.
  returned: always
  type: list
  elements: str
  sample: ["alert launch_end sent to webhook ops, slack launch-room",
           "alert launch_end FAILED on webhook pager (timed out); the run goes on"]
payload:
  description: The event as sent to the webhook channels.
  returned: when the event could be built
  type: dict
  sample: {source: nexus_cos.launch, event: launch_end, level: info, severity: low, action: trigger,
           dedup_key: nexus-cos-launch-end-0a3ef00e3c5d7ef1e09ebb65, text: global launch applied and confirmed,
           host: vps1, run_id: 20261201T100000Z-1a2b3c, at: "2026-12-01T10:00:04Z", details: {state: applied}}
results:
  description:
    - One item a channel - C({channel, type, ok, status, reason, elapsed_ms, attempts}), its name only.
    - C(skipped=true) (and C(ok=false)) for a channel whose C(min_severity) is above the event's severity.
  returned: always
  type: list
  elements: dict
severity:
  description: The event's severity - C(critical), C(high), C(medium) or C(low).
  returned: when the event could be built
  type: str
  sample: low
problem:
  description: Why nothing was sent (definitions that cannot be used, a bad option), or null.
  returned: always
  type: str
audit_head:
  description: The audit chain head after the records.
  returned: when audited
  type: dict
'''
