# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Fills in who pulls the kill switch, then runs the module on the host.
When the switch may not break a live lock (break_lock=false) and the holder
ran from this controller and is gone, it is taken over: a second round
trip, only then."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.plugin_utils import lock_holder


class ActionModule(ActionBase):

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        args["holder"] = lock_holder.fill(args.get("holder"))
        outcome = self._execute_module(module_name="nexus_cos.launch.kill_switch", module_args=args,
                                       task_vars=task_vars)
        previous = (outcome.get("previous_holder") or {}) if outcome.get("failed") else {}
        if previous and not outcome.get("lock") and lock_holder.gone_here(previous):
            args["recover_run"] = previous["run_id"]
            outcome = self._execute_module(module_name="nexus_cos.launch.kill_switch", module_args=args,
                                           task_vars=task_vars)
        result.update(outcome)
        return result
