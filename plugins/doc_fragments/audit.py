# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations


class ModuleDocFragment(object):
    # The audit paths and run id are doc fragment nexus_cos.launch.host_paths.
    DOCUMENTATION = r'''
options:
  audit_events:
    description:
      - Extra records, decided on the controller, appended after the module's own in the
        same write lock.
      - "Each item is C({event: NAME, fields: {key: value}})."
    type: list
    elements: dict
    default: []
'''
