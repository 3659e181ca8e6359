# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The precheck action gives the hints of the module's results (written on
the host in ansible-playbook's words) the words of the run's driver."""

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.nexus_cos.launch.plugins.action import precheck
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import hint_vars


def run_precheck():
    task = mock.MagicMock()
    task.args = {"plan": {"services": {"severity": "error", "params": {}}}, "skip": [], "warn_only": []}
    task.async_val, task.check_mode, task.diff = 0, False, False
    action = precheck.ActionModule(task, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock(),
                                   mock.MagicMock())
    failed = {"name": "services", "number": 3, "title": "services", "status": "FAIL", "severity": "error",
              "msg": "nginx is inactive", "hint": "start it", "duration_ms": 1, "details": {},
              "override": hint_vars("services")}
    action._execute_module = lambda module_name, module_args, task_vars: {
        "results": [failed], "summary": {"total": 1, "failed": 1, "skipped": 0}}
    with mock.patch.object(precheck.ActionBase, "run", return_value={}):
        return action.run(task_vars={"inventory_hostname": "vps1"})


@pytest.mark.parametrize("driver, skip, warn_only", [
    (None, "-e '{\"precheck_skip\": [\"services\"]}'", "-e '{\"precheck_warn_only\": [\"services\"]}'"),
    ("nexusctl", "--skip services", "--warn-only services"),
])
def test_failure_listing_names_the_drivers_flags(monkeypatch, driver, skip, warn_only):
    if driver:
        monkeypatch.setenv("NEXUS_DRIVER", driver)
    else:
        monkeypatch.delenv("NEXUS_DRIVER", raising=False)
    result = run_precheck()
    assert result["results"][0]["override"] == {"skip": skip, "warn_only": warn_only}
    assert "    skip it: %s   or downgrade it: %s" % (skip, warn_only) in result["failures"]
