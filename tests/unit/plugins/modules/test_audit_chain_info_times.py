# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Module audit_chain_info: records out of time order fail the task, told apart
from tampering."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import AuditLog
from ansible_collections.nexus_cos.launch.plugins.modules import audit_chain_info

from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import module_failed, module_succeeded

DEPLOY = "deployment-20260115T103045Z.log"
NOW = 1768473045

pytestmark = pytest.mark.usefixtures("module_exits")


def _trail(path, times):
    moments = iter(times)
    log = AuditLog(str(path), "20260115T103045Z-aaaaaa", DEPLOY, clock=lambda: next(moments))
    for index in range(len(times)):
        log.record("STEP", n=index)


def test_times_going_backwards_fail_with_the_record_named(tmp_path):
    _trail(tmp_path, [NOW + 3600, NOW])
    result = module_failed(audit_chain_info.main, {"audit_dir": str(tmp_path)})
    assert result["msg"].startswith("audit trail %s: hash chain intact, but record times go backwards: file %s "
                                    "line 2: seq 2 (STEP) is dated 2026-01-15 10:30:45" % (tmp_path, DEPLOY))
    assert result["problems"] == [] and len(result["time_problems"]) == 1
    assert result["report"][1].startswith("WARNING: 1 record(s) dated before the record before them")


def test_times_in_order_pass(tmp_path):
    _trail(tmp_path, [NOW, NOW + 1])
    assert module_succeeded(audit_chain_info.main, {"audit_dir": str(tmp_path)})["time_problems"] == []
