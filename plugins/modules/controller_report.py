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
  stats:
    description:
      - Run stats to publish, a mapping of stat name to value, as C(ansible.builtin.set_stats) would with
        C(per_host=false) and C(aggregate=true);
        mappings given by several hosts under one name are merged.
      - AWX and AAP keep them as the job's artifacts and pass them to the next nodes of a workflow;
        C(ansible-playbook) shows them with C(ANSIBLE_SHOW_CUSTOM_STATS=true).
      - Returned in check mode too, as they write nothing.
    type: dict
    version_added: "2.1.0"
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

- name: Keep the summary and publish the run's id as run stats
  nexus_cos.launch.controller_report:
    files: "{{ {nexus_artifacts_dir ~ '/' ~ nexus_run_id ~ '/summary.txt': summary} }}"
    stats:
      nexus_cos_run:
        run_id: "{{ nexus_run_id }}"
  changed_when: false
'''

RETURN = r'''
written:
  description: Paths written (those whose content changed).
  returned: always
  type: list
  elements: str
'''
