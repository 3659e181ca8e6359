# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Fills in who takes the deployment lock (controller host, the
ansible-playbook process, the user), then runs the module on the host."""

from __future__ import annotations

import getpass
import os
import socket

from ansible.plugins.action import ActionBase


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
        result.update(self._execute_module(module_name="nexus_cos.launch.deploy_lock", module_args=args,
                                           task_vars=task_vars))
        return result
