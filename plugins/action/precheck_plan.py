# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Builds the precheck plan on the controller in one task
(plugin_utils/precheck_plan.py): every registered check the tags select, its
role's variables validated against that role's meta/argument_specs.yml.
A bad value stops the run here, naming the role, the variable and what was
expected, before the lock is taken or anything reaches the host. Controller
only: no module runs on the host."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import combine_vars

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import registered_names
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import precheck_plan


class ActionModule(ActionBase):

    _supports_check_mode = True
    _requires_connection = False
    TRANSFERS_FILES = False

    def _load(self, path):
        try:
            # Role defaults are the collection's own files: their templates
            # ({{ nexus_repo_dir }}) are rendered, as when the role is imported.
            return self._loader.load_from_file(path, trusted_as_template=True)
        except TypeError:  # ansible-core before 2.19 trusts every template
            return self._loader.load_from_file(path)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        if self._task.args:
            raise AnsibleActionFail("precheck_plan takes no options (found %s): the checks come from the registry, "
                                    "their variables from each role precheck_<name>" % ", ".join(sorted(self._task.args)))

        # A default may name another role variable; the host's variables win
        # over the roles' defaults, as when the roles are imported.
        defaults = precheck_plan.all_defaults(self._load)
        templar = self._templar.copy_with_new_env(available_variables=combine_vars(defaults, task_vars))

        try:
            plan, errors = precheck_plan.build(task_vars, templar.template, self._load, defaults)
        except ValueError as exc:
            raise AnsibleActionFail("precheck_plan: %s" % exc)
        if errors:
            result.update(failed=True, argument_errors=errors,
                          msg="Validation of arguments failed:\n%s" % "\n".join(errors))
            return result
        result.update(changed=False, planned=list(plan), ansible_facts={"nexus_precheck_plan": plan},
                      msg="%d of %d prechecks planned" % (len(plan), len(registered_names())))
        return result
