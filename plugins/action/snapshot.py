# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Hands the snapshot module the rollback command's runtime: the sources
of the module_utils it imports, read from this collection on the
controller, so the rollback script on the host needs nothing but python3.
The rollback script and playbook arrive already rendered (the role renders
them with the template lookup, on the controller)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.module_utils import snapshot

MODULE_UTILS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")


class ActionModule(ActionBase):

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if args.get("record", "before") == "before" and not args.get("runtime_files"):
            try:
                args["runtime_files"] = snapshot.runtime_files(MODULE_UTILS_DIR)
            except OSError as exc:
                raise AnsibleActionFail("snapshot: cannot read the rollback runtime from %s: %s"
                                        % (MODULE_UTILS_DIR, exc))
        result.update(self._execute_module(module_name="nexus_cos.launch.snapshot", module_args=args,
                                           task_vars=task_vars))
        # The sources and rendered files are large and already on the host:
        # keep them out of the registered result.
        echoed = result.get("invocation", {}).get("module_args", {})
        for key in ("runtime_files", "rollback_script", "rollback_playbook"):
            if key in echoed:
                echoed[key] = "(%d bytes)" % len(str(echoed[key]))
        return result
