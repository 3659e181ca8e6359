# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""`nexusctl audit verify` and `nexusctl audit tail` beside the platform
deploy script's files in the audit directory: listed as not part of the
chain, never called tampering (the rule: test_audit_foreign.py)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.nexus_cos.launch.nexusctl.__main__ import main as nexusctl
from ansible_collections.nexus_cos.launch.tests.unit.utils import platform_leftovers
from ansible_collections.nexus_cos.launch.tests.unit.utils.audit_trail import DEPLOY, ROLLBACK, write_trail

SCRIPT = platform_leftovers.SCRIPT
CONSOLE = platform_leftovers.read("deployment-20250101-101010.log")
FIRST_LOG, KILLED_LOG = platform_leftovers.FIRST_LOG, platform_leftovers.KILLED_LOG


@pytest.fixture
def trail(tmp_path):
    """The platform script's files, then two runs of ours (utils/audit_trail.py)."""
    platform_leftovers.lay_down(str(tmp_path / "audit"))
    return write_trail(tmp_path / "audit")


def test_nexusctl_audit_verify_lists_foreign_files_and_exits_0(trail, capsys):
    assert nexusctl(["audit", "verify", "--dir", str(trail)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("audit trail intact: 9 records, head seq 9 chain ")
    assert lines[1:] == [
        "3 file(s) not part of the chain (another tool's records, kept as they are; not tampering):",
        "  - deployment-20250101-101010.log (%d bytes): %s" % (len(CONSOLE), FIRST_LOG),
        "  - deployment-20250102-093000.log (%d bytes): %s" % (
            len(platform_leftovers.read("deployment-20250102-093000.log")), KILLED_LOG),
        "  - %s (%d bytes): %s" % (SCRIPT, len(platform_leftovers.read(SCRIPT)), platform_leftovers.SCRIPT_NOT_OURS)]


def test_nexusctl_audit_verify_json_lists_foreign_files(trail, capsys):
    assert nexusctl(["audit", "verify", "--dir", str(trail), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["problems"] == []
    assert report["foreign"][0] == {"file": "deployment-20250101-101010.log", "size": len(CONSOLE),
                                    "reason": FIRST_LOG}


def test_nexusctl_audit_verify_lists_foreign_files_beside_real_tampering(trail, capsys):
    os.unlink(trail / ROLLBACK)
    assert nexusctl(["audit", "verify", "--dir", str(trail)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("audit trail TAMPERED: record(s) removed before file %s line 4" % DEPLOY)
    assert "3 file(s) not part of the chain" in out and "deployment-20250101-101010.log" not in out.split("\n")[0]


def test_nexusctl_audit_tail_skips_foreign_files(trail, capsys):
    assert nexusctl(["audit", "tail", "--dir", str(trail), "-n", "2"]) == 0
    captured = capsys.readouterr()
    assert [line.split()[0] for line in captured.out.splitlines()] == ["8", "9"]
    assert "not audit records" not in captured.err
    assert captured.err.splitlines()[0] == (
        "3 file(s) not part of the chain (another tool's records, kept as they are; not tampering):")
