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
  - Reports C(changed) when a file's content changed (a file that already holds the content is
    left alone). The plays mark the task C(changed_when=false), as reports are records of a run,
    not configuration.
author: Nexus COS platform team (@nexus-cos)
options:
  files:
    description: Mapping of controller path to file content.
    type: dict
    required: true
extends_documentation_fragment:
  - nexus_cos.launch.attributes
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
  changed_when: false
'''

RETURN = r'''
written:
  description: Paths written (those whose content changed).
  returned: always
  type: list
  elements: str
'''
