# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options:
  audit_dir:
    description:
      - Directory of the audit trail on the host (created 0750 when missing). Required with
        O(audit_file); the plays pass C(nexus_audit_dir).
    type: path
  audit_file:
    description:
      - Chain file this run appends to, C(deployment-<stamp>.log), C(rollback-<stamp>.log)
        or C(activation-<stamp>.log). Without it the module writes no audit record.
    type: str
  run_id:
    description: Run id stamped on every record. Required with O(audit_file).
    type: str
  audit_events:
    description:
      - Extra records, decided on the controller, appended after the module's own in the
        same write lock.
      - "Each item is C({event: NAME, fields: {key: value}})."
    type: list
    elements: dict
    default: []
'''
