# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Module precheck around its checks: what it says when it cannot write."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.nexus_cos.launch.plugins.modules import precheck
from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import module_failed

pytestmark = pytest.mark.usefixtures("module_exits")

# A check that runs anywhere: any OS at version 0, no command needed.
PLAN = {"system": {"severity": "warn", "params": {"supported_os": {}, "required_commands": []}}}


def test_a_full_audit_disk_is_said_in_words_naming_the_file(tmp_path, monkeypatch):
    report = tmp_path / "audit" / "precheck-20261201T100000Z.log"

    def full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(precheck, "write_atomic", full)
    result = module_failed(precheck.main, {"plan": PLAN, "audit_dir": str(tmp_path / "audit"),
                                           "report_file": report.name})
    assert result["msg"].startswith("precheck: could not write the report or audit records: no space left on "
                                    "device writing %s (filesystem " % report), result["msg"]
    assert "[Errno" not in result["msg"]
