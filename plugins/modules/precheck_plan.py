# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
# The work is done on the controller, by the action plugin of the same name;
# this file documents it.
from __future__ import annotations

DOCUMENTATION = r'''
---
module: precheck_plan
short_description: Plan the registered prechecks, each validated against its role's argument spec
version_added: "2.1.0"
description:
  - Builds C(nexus_precheck_plan), the input of M(nexus_cos.launch.precheck), on the controller in one task.
  - For every check in the registry (C(plugins/module_utils/checks/__init__.py)), in its order, the variables
    of role C(nexus_cos.launch.precheck_<name>) are read (the host's variables - inventory, play, extra vars -
    over the role's C(defaults/main.yml)), validated against that role's C(meta/argument_specs.yml), and
    converted to the spec's types (an extra var arrives as text). The role is the one description of its
    check's variables; C(ansible-doc -t role nexus_cos.launch.precheck_<name>) shows them.
  - A bad value fails the task before anything reaches the host, naming the role, the variable and what was
    expected (C(Validation of arguments failed:) and one line per problem, for every role at once).
  - Each check keeps the tags C([precheck, precheck_<name>]) - C(--tags precheck_disk) plans only that check,
    C(--skip-tags precheck_api) leaves it out - read from C(ansible_run_tags) and C(ansible_skip_tags); a check
    left out is reported as not run by M(nexus_cos.launch.precheck). Tag the task C(always).
author: Nexus COS platform team (@nexus-cos)
options: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nexus_cos.launch.attributes.controller_action
attributes:
  check_mode:
    support: full
    details: The same plan in check mode.
'''

EXAMPLES = r'''
- name: Plan the prechecks
  nexus_cos.launch.precheck_plan:
  tags: [always]
'''

RETURN = r'''
planned:
  description: The names of the checks planned, in the registry's order.
  returned: success
  type: list
  elements: str
  sample: [system, services, disk]
ansible_facts:
  description: The plan.
  returned: success
  type: dict
  contains:
    nexus_precheck_plan:
      description: "C({name: {severity, params}}) for each check planned."
      type: dict
argument_errors:
  description: One line per refused value, naming the role and the variable.
  returned: failure
  type: list
  elements: str
'''
