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
    description: Mapping of controller path to file content. Required unless O(launch_report) is given.
    type: dict
  launch_report:
    description:
      - The run's launch report, a one-page self-contained HTML file (no script, no external asset).
      - C(path) is the page's file (ending in C(.html)); its data is kept beside it with the same stem and C(.json),
        and the data given here is laid over what that file holds, so a later part of a run (the launch guard) adds
        its section to the same report. C(nexusctl report) renders the page again from that file.
      - "The rest are the run's results, each optional: C(run) ({id, playbook, host, status, started, audit_log,
        check}), C(precheck), C(gate) (M(nexus_cos.launch.activation_gate)'s result), C(waivers), C(rollback)
        ({ms, problem}), C(guard) (M(nexus_cos.launch.launch_guard)'s result), C(audit_head), C(snapshot),
        C(failures) and C(timeline) ([{at, event, detail}]). Only the fields the report shows are taken from them,
        by name: no secret reaches the page or its data."
    type: dict
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
- name: Write the launch report beside the summary
  nexus_cos.launch.controller_report:
    launch_report:
      path: "{{ nexus_artifacts_dir }}/{{ nexus_run_id }}/summary-{{ inventory_hostname }}.html"
      run: {id: "{{ nexus_run_id }}", playbook: launch, host: "{{ inventory_hostname }}"}
      gate: "{{ nexus_activation }}"
  changed_when: false

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
