# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
# The work is done on the controller, by the action plugin of the same name;
# this file documents it.
from __future__ import annotations

DOCUMENTATION = r'''
---
module: pinned_vars
short_description: Refuse a run whose extra vars set a pinned variable or carry an approver's secret
version_added: "1.1.0"
description:
  - One operator on the controller can pass any C(-e). What the two-person rule, the test clock and the audit
    trail rest on must not be changeable that way, so these variables are refused when they come from the run's
    extra vars (C(-e key=value), C(-e @file), ansible-runner's extravars, an AWX job's extra vars or survey) -
    C(nexus_launch_approvers), C(nexus_environment), C(nexus_audit_dir), C(precheck_repository_audit_dir),
    C(precheck_security_audit_dir), C(nexus_artifacts_dir) and C(activation_gate_approval_max_age_minutes). They
    live in the inventory (group_vars or host_vars), a reviewed change.
  - An approval in C(nexus_launch_approvals) that carries a C(secret) in the extra vars is refused too (the run's
    records keep extra vars); the secret is never shown. The message names the right ways to give it.
  - The refusal names each variable, says it was given with C(-e) and where it must live instead, and fails the
    task before anything is written. The extra vars are read the way Ansible reads them (C(load_extra_vars)).
  - Before that, it stops the run when the ansible-core running it is older than the collection supports (the
    C(>=) bound of C(requires_ansible) in C(meta/runtime.yml), 2.16.0); Ansible itself would only warn. The
    message names the running version and the supported range. A release newer than the newest tested (2.19)
    runs, with a warning.
  - Role C(nexus_cos.launch.launch_context) runs it first in every play; the actions that write
    (M(nexus_cos.launch.deploy_lock), M(nexus_cos.launch.activation_gate), M(nexus_cos.launch.kill_switch),
    M(nexus_cos.launch.launch_guard), M(nexus_cos.launch.controller_report)) refuse the same way, so skipping
    tags skips no refusal.
author: Nexus COS platform team (@nexus-cos)
options: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nexus_cos.launch.attributes.controller_action
attributes:
  check_mode:
    support: full
    details: The same refusal in check mode.
'''

EXAMPLES = r'''
- name: Refuse pinned variables and secrets given as extra vars
  nexus_cos.launch.pinned_vars:
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
pinned:
  description: The names that are refused from extra vars.
  returned: success
  type: list
  elements: str
  sample: [nexus_audit_dir, nexus_environment, nexus_launch_approvers]
'''
