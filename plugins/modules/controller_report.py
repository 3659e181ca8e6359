#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: controller_report
short_description: Write run reports on the controller
version_added: "1.0.0"
description:
  - Writes files on the controller (run summary, exported audit chain head) atomically,
    without contacting the host. Implemented as an action plugin only.
  - Reports are records of a run, not configuration, and are reported as C(changed=false).
author: Nexus COS platform team
options:
  files:
    description: Mapping of controller path to file content.
    type: dict
    required: true
attributes:
  check_mode:
    support: full
    details: Nothing is written in check mode.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Keep the audit chain head on the controller
  nexus_cos.launch.controller_report:
    files:
      "{{ nexus_artifacts_dir }}/audit-heads/{{ inventory_hostname }}.json": "{{ head | to_nice_json }}"
'''

RETURN = r'''
written:
  description: Paths written.
  returned: always
  type: list
  elements: str
'''
