# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Module audit_chain_info with tail (nexusctl audit tail -i): the last
records, as nexusctl audit tail --dir prints them, even from a trail that
does not verify."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log
from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import AuditLog
from ansible_collections.nexus_cos.launch.plugins.modules import audit_chain_info

from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import module_failed, module_succeeded

DEPLOY = "deployment-20260115T103045Z.log"
NOW = 1768473045

pytestmark = pytest.mark.usefixtures("module_exits")


def _trail(path, count):
    log = AuditLog(str(path), "20260115T103045Z-aaaaaa", DEPLOY, clock=lambda: NOW)
    for index in range(count):
        log.record("STEP", n=index)


def test_tail_returns_the_last_records_as_audit_tail_prints_them(tmp_path):
    _trail(tmp_path, 5)
    result = module_succeeded(audit_chain_info.main, {"audit_dir": str(tmp_path), "tail": 2})
    entries, dummy = audit_log.read_trail(str(tmp_path))
    assert result["tail"] == [audit_log.entry_line(entry) for entry in entries[-2:]]
    assert result["tail"][0].lstrip().startswith("4  2026-01-15 10:30:45 UTC  STEP")


def test_without_tail_nothing_more_is_returned(tmp_path):
    _trail(tmp_path, 2)
    assert "tail" not in module_succeeded(audit_chain_info.main, {"audit_dir": str(tmp_path)})


def test_a_tampered_trail_is_still_read_with_its_problems(tmp_path):
    _trail(tmp_path, 3)
    path = tmp_path / DEPLOY
    path.write_text(path.read_text().replace("n=1", "n=7"))
    result = module_succeeded(audit_chain_info.main, {"audit_dir": str(tmp_path), "tail": 10})
    assert len(result["tail"]) == 3 and result["problems"]
    assert module_failed(audit_chain_info.main, {"audit_dir": str(tmp_path)})["problems"]


def test_a_negative_tail_is_refused(tmp_path):
    _trail(tmp_path, 1)
    assert module_failed(audit_chain_info.main, {"audit_dir": str(tmp_path), "tail": -1})["msg"] == (
        "tail: -1; expected a number of records, 0 or more")
