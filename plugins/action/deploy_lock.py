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

import getpass
import os
import socket

from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.module_utils.deploy_lock import OWN, pid_alive


class ActionModule(ActionBase):

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        holder = dict(args.get("holder") or {})
        holder.setdefault("controller", socket.gethostname())
        # The worker running this plugin is a child of ansible-playbook.
        holder.setdefault("pid", os.getppid())
        holder.setdefault("user", os.environ.get("NEXUS_OPERATOR") or getpass.getuser())
        args["holder"] = holder
        outcome = self._execute_module(module_name="nexus_cos.launch.deploy_lock", module_args=args,
                                       task_vars=task_vars)
        gone = self._gone_here(outcome.get("holder")) if outcome.get("lock") == "refused" else None
        if gone:
            args.update(recover_run=outcome["holder"]["run_id"], reason=gone)
            outcome = self._execute_module(module_name="nexus_cos.launch.deploy_lock", module_args=args,
                                           task_vars=task_vars)
        result.update(outcome)
        return result

    @staticmethod
    def _gone_here(holder):
        """Why a run of this controller holding the lock is gone, or None.
        Only this collection's runs name a controller; the platform script's
        lock is judged on the host, by the module."""
        if not holder or holder.get("kind") != OWN or holder.get("controller") != socket.gethostname():
            return None
        if not holder.get("run_id") or not holder.get("pid") or pid_alive(holder["pid"]):
            return None
        return "controller process %s on %s has exited" % (holder["pid"], holder["controller"])
