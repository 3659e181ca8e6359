# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""A launch run's results as the plays register them, for the launch
report's tests: one failing precheck, a refused launch gate, a guard's
watch and an audit chain head. The approvals carry secrets, a token and
password hashes, which the report must never show."""

from __future__ import annotations

SECRETS = ("alice-s3cret", "bob-s3cret", "xoxb-slack-token-1234", "$pbkdf2-sha256$29000$abcdefgh$hashhashhash",
           "nonce-0123456789abcdef")
RUN_ID = "20261201T100000Z-abc123"
FAILING_FIX = "free space under /var/lib/docker (docker system prune) or raise precheck_disk_min_free_gb"
REFUSAL = ("launch gate security_audit is pending in global-launch.yaml launch_gates.required_validations; "
           "expected passed, or waive it with a reason")
HEAD = "3f" * 32


def results(refused=True):
    """(the results for launch_report.report_data) of a launch run."""
    precheck = {"summary": {"passed": 1, "failed": 1, "warned": 1, "skipped": 0, "total": 3, "ok": False},
                "results": [
                    {"number": 1, "name": "system", "severity": "error", "status": "PASS", "duration_ms": 12,
                     "msg": "Ubuntu 22.04, 4 CPUs", "hint": "", "override": {"skip": "--skip system", "warn_only": ""},
                     "details": {"token": SECRETS[2]}},
                    {"number": 2, "name": "disk", "severity": "error", "status": "FAIL", "duration_ms": 30,
                     "msg": "/var/lib/docker has 1.2 GB free, needs 10 GB", "hint": FAILING_FIX,
                     "override": {"skip": "--skip disk", "warn_only": "--warn-only disk"}, "details": {}},
                    {"number": 3, "name": "memory", "severity": "warn", "status": "WARN", "duration_ms": 4,
                     "msg": "1.5 GB available <script>alert(1)</script>", "hint": "", "override": {}, "details": {}}]}
    gate = {"key": "launch_global", "label": "Phase 4 global launch", "refused": refused,
            "msg": REFUSAL if refused else "", "already_applied": False, "now_utc": "2026-12-01T10:00:05Z",
            "forced": [], "notes": ["auctions stay off until Phase 4 is live"],
            "approvals": [{"name": "alice", "secret": SECRETS[0]}, {"name": "bob", "secret": SECRETS[1]}],
            "approvers": {"alice": {"role": "founder", "password_hash": SECRETS[3]}},
            "entry": {"approvers": "alice:founder,bob:technical_lead", "waived": "load_test", "forced_reason": "",
                      "nonce": SECRETS[4]},
            "history": [
                {"key": "marketplace_step_1", "applied_at": 1795000000, "applied_at_utc": "2026-11-18T09:46:40Z",
                 "run_id": "20261118T094640Z-aaaaaa", "undone_text": ""},
                {"key": "marketplace_step_2", "applied_at": 1795700000, "applied_at_utc": "2026-11-26T12:13:20Z",
                 "run_id": "20261126T121320Z-bbbbbb",
                 "undone_text": "undone by rollback run 20261126T130000Z-cccccc on 2026-11-26 13:00:00 UTC"},
                {"key": "marketplace_step_2", "applied_at": 1795800000, "applied_at_utc": "2026-11-27T16:00:00Z",
                 "run_id": "20261127T160000Z-dddddd", "undone_text": ""}]}
    guard = {"outcome": "clean", "looks": 40, "worst": "warn", "watched_s": 195, "expect_mode": "public_full",
             "msg": "launch guard: 3 min 15 s watched, 40 looks, no critical breach (worst: warn)",
             "started_at": 1796119300, "breach": None, "channels": [{"token": SECRETS[2]}],
             "samples": [{"t": t * 5.0, "available": not 20 <= t <= 22, "latency_ms": 12 + (t % 7) * 3 + (40 if t == 30 else 0),
                          "mode": "founder" if t < 4 else "public_full", "level": "ok"} for t in range(40)]}
    return dict(run={"id": RUN_ID, "playbook": "launch", "host": "vps1", "status": "failed" if refused else "success",
                     "started": 1796119200, "audit_log": "/var/log/nexus-cos/activation-20261201T100000Z.log"},
                precheck=precheck, gate=gate, waivers={"load_test": "run on staging 2026-11-30, ticket OPS-7"},
                guard=guard, audit_head={"seq": 418, "chain": HEAD, "file": "activation-20261201T100000Z.log"},
                snapshot={"rollback_script": "/var/backups/nexus-cos/20261201T100000Z/rollback.sh",
                          "emergency_script": "/var/backups/nexus-cos/20261201T100000Z/emergency.sh"},
                failures=["failed at: Gate the launch", REFUSAL] if refused else None,
                timeline=[{"at": 1796119200, "event": "DEPLOYMENT_START", "detail": "run " + RUN_ID},
                          {"at": 1796119203, "event": "PRECHECKS", "detail": "1 passed, 1 failed, 1 warned"},
                          {"at": 1796119205, "event": "LAUNCH_REFUSED" if refused else "LAUNCH_APPROVED",
                           "detail": REFUSAL if refused else "alice, bob"}])
