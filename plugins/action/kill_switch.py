# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Fills in who pulls the kill switch, then runs the module on the host
(lock_holder.pull_switch: a gone holder of this controller is taken over
when the switch may not break a live lock). The launch guard pulls it the
same way."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.plugin_utils import lock_holder, pinned_vars


class ActionModule(ActionBase):

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        pinned_vars.refuse_extra_vars(self)  # also when launch_context's check was skipped by tag
        result.update(lock_holder.pull_switch(
            lambda args: self._execute_module(module_name="nexus_cos.launch.kill_switch", module_args=args,
                                              task_vars=task_vars),
            self._task.args))
        return result
