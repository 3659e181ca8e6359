# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""A small audit trail for tests that read or tamper with one: two runs,
three chain files, written at a fixed clock (NOW)."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import AuditLog

NOW = 1768473045  # 2026-01-15 10:30:45 UTC
DEPLOY = "deployment-20260115T103045Z.log"
ROLLBACK = "rollback-20260115T110000Z.log"
DEPLOY2 = "deployment-20260116T090000Z.log"


def clock():
    return NOW


def lines_of(path):
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8").split("\n")[:-1]


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


def write_trail(audit_dir):
    """Two runs, three chain files: 4 + 2 records from run A, 3 from run B."""
    a = AuditLog(str(audit_dir), "20260115T103045Z-aaaaaa", DEPLOY, clock=clock)
    a.record("DEPLOYMENT_START", user="ops")
    a.record("LOCK_ACQUIRED", pid=12345, timestamp=NOW)
    a.record("PRECHECK_SYSTEM", status="PASS", msg="Debian 12, all commands present")
    r = AuditLog(str(audit_dir), "20260115T103045Z-aaaaaa", ROLLBACK, clock=clock)
    r.record("ROLLBACK_SCRIPT_GENERATED", path="/var/backups/nexus-cos/rollback-20260115T103045Z.sh")
    r.record("ROLLBACK_PLAYBOOK_GENERATED", lines=42)
    a.record("DEPLOYMENT_COMPLETE", duration=12.5, status="success")
    b = AuditLog(str(audit_dir), "20260116T090000Z-bbbbbb", DEPLOY2, clock=lambda: NOW + 86400)
    b.record("DEPLOYMENT_START", user="ops")
    b.record("LOCK_ACQUIRED", pid=999, timestamp=NOW + 86400)
    b.record("DEPLOYMENT_COMPLETE", duration=3, status="success")
    return audit_dir


def kinds(result):
    return [p.kind for p in result.problems]
