#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: audit_record
short_description: Append records decided on the controller to a Nexus COS run's audit trail
version_added: "1.0.0"
description:
  - Appends O(audit_events) to the run's chain file O(audit_file) in O(audit_dir), hash-chained
    like every record of the collection. Used for what is decided or measured on the controller
    (a gate's decision, an automatic rollback's outcome).
  - Reports C(changed) when it wrote; the plays mark the task C(changed_when=false), as a record
    of a run is not configuration.
author: Nexus COS platform team (@nexus-cos)
extends_documentation_fragment:
  - nexus_cos.launch.attributes
  - nexus_cos.launch.host_paths.audit_paths
  - nexus_cos.launch.audit
attributes:
  check_mode:
    support: full
    details: Nothing is written in check mode.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Audit the automatic rollback
  nexus_cos.launch.audit_record:
    audit_dir: "{{ nexus_audit_dir }}"
    audit_file: "{{ deploy_lock_audit_file }}"
    run_id: "{{ nexus_run_id }}"
    audit_events:
      - event: ACTIVATION_ROLLED_BACK
        fields: {activation: marketplace_step_1, reason: "gateway did not confirm", duration_ms: 812}
  changed_when: false
'''

RETURN = r'''
audit_head:
  description: The audit chain head after the records.
  returned: when written
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import run_audit


def main():
    module = AnsibleModule(argument_spec=dict(run_audit.AUDIT_ARGUMENT_SPEC), supports_check_mode=True,
                           required_together=[("audit_file", "run_id")])
    p = module.params
    if not p["audit_file"]:
        module.fail_json(msg="audit_file is required: the chain file the records go to")
    try:
        log = run_audit.open_audit(p)
        events = run_audit.extra_events(p)
    except ValueError as exc:
        module.fail_json(msg="audit_record: %s" % exc)
    if module.check_mode or not events:
        module.exit_json(changed=False)
    try:
        head = run_audit.write(log, events)
    except (ValueError, OSError) as exc:
        module.fail_json(msg="audit_record: %s" % exc)
    module.exit_json(changed=True, audit_head=head)


if __name__ == "__main__":
    main()
