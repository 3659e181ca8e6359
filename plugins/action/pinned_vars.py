# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Stops the run on an ansible-core below the supported range
(plugin_utils/core_version.py), and refuses it when an extra var sets what
one operator may not change from the command line, or carries a secret
(plugin_utils/pinned_vars.py).
Controller only: no module runs on the host. Role launch_context runs it
first in every play, before anything is written."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.plugin_utils import core_version, pinned_vars


class ActionModule(ActionBase):

    _supports_check_mode = True
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        # First: on an unsupported ansible-core nothing else is trusted to run right.
        core_version.check(self)
        pinned_vars.refuse_extra_vars(self)
        result.update(changed=False, pinned=sorted(pinned_vars.PINNED),
                      msg="no pinned variable and no secret among the extra vars")
        return result
