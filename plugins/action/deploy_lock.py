# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Fills in who takes the deployment lock (controller host, the
ansible-playbook process, the user), then runs the module on the host.

When the lock is refused and its holder is a run from this very controller
whose ansible-playbook process has exited (a run cut off by a lost
connection never reaches its release), the holder is known to be gone: the
lock is taken over at once, and the module audits the takeover. This costs
a second round trip only in that case."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.plugin_utils import lock_holder, pinned_vars


class ActionModule(ActionBase):

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        pinned_vars.refuse_extra_vars(self)  # also when launch_context's check was skipped by tag
        args = dict(self._task.args)
        args["holder"] = lock_holder.fill(args.get("holder"))
        outcome = self._execute_module(module_name="nexus_cos.launch.deploy_lock", module_args=args,
                                       task_vars=task_vars)
        gone = lock_holder.gone_here(outcome.get("holder")) if outcome.get("lock") == "refused" else None
        if gone:
            args.update(recover_run=outcome["holder"]["run_id"], reason=gone)
            outcome = self._execute_module(module_name="nexus_cos.launch.deploy_lock", module_args=args,
                                           task_vars=task_vars)
        result.update(outcome)
        return result
