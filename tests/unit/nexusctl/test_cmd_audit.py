# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Unit tests for `nexusctl audit verify` and `nexusctl audit tail`."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.nexusctl import cmd_audit
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import DEFAULT_INVENTORY
from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import AuditLog, export_head

DEPLOY = "deployment-20260115T103045Z.log"
ROLLBACK = "rollback-20260115T103045Z.log"
NOW = 1768473045


def run(argv):
    return nexusctl_main.main(argv)


@pytest.fixture
def trail(tmp_path):
    audit_dir = tmp_path / "audit"
    deploy = AuditLog(str(audit_dir), "20260115T103045Z-aaaaaa", DEPLOY, clock=lambda: NOW)
    deploy.record("DEPLOYMENT_START", user="ops")
    deploy.record("LOCK_ACQUIRED", pid=12345, timestamp=NOW)
    AuditLog(str(audit_dir), "20260115T103045Z-aaaaaa", ROLLBACK, clock=lambda: NOW).record(
        "ROLLBACK_SCRIPT_GENERATED", path="/var/backups/rollback.sh")
    deploy.record("PRECHECK_DISK", status="FAIL", msg="only 2 GB free\n[AUDIT] fake \x1b[31m")
    deploy.record("DEPLOYMENT_COMPLETE", duration=12, status="failed")
    return audit_dir


def edit_line(path, number, old, new):
    with open(path, encoding="utf-8") as handle:
        lines = handle.readlines()
    lines[number - 1] = lines[number - 1].replace(old, new)
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(lines)


def test_verify_intact(trail, capsys):
    assert run(["audit", "verify", "--dir", str(trail)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit trail intact: 5 records, head seq 5 chain ")
    assert "at file %s line 4" % DEPLOY in out


def test_verify_tampered_prints_first_problem_first(trail, capsys):
    edit_line(trail / DEPLOY, 2, "pid=12345", "pid=1")
    os.unlink(trail / ROLLBACK)
    assert run(["audit", "verify", "--dir", str(trail)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "audit trail TAMPERED: file %s line 2: record edited (chain mismatch)" % DEPLOY
    assert lines[1].startswith("2 problem(s) in %s" % trail)
    assert lines[2] == "  - file %s line 2: record edited (chain mismatch)" % DEPLOY
    assert lines[3] == "  - record(s) removed before file %s line 3 (seq 3 missing)" % DEPLOY


def test_verify_against_exported_head(trail, tmp_path, capsys):
    head_file = tmp_path / "head.json"
    head_file.write_text(json.dumps(export_head(str(trail))))
    assert run(["audit", "verify", "--dir", str(trail), "--head", str(head_file)]) == 0
    assert "matches exported head seq 5" in capsys.readouterr().out
    os.unlink(trail / ".audit-head.json")
    with open(trail / DEPLOY, encoding="utf-8") as handle:
        lines = handle.readlines()
    with open(trail / DEPLOY, "w", encoding="utf-8") as handle:
        handle.writelines(lines[:-1])
    assert run(["audit", "verify", "--dir", str(trail), "--head", str(head_file)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "audit trail TAMPERED: truncated: trail ends at seq 4 but exported head is seq 5"


def test_verify_json_output(trail, capsys):
    edit_line(trail / DEPLOY, 1, "user=ops", "user=eve")
    assert run(["audit", "verify", "--dir", str(trail), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["records"] == 5
    assert report["problems"][0] == {"file": DEPLOY, "line": 1, "kind": "edited",
                                     "message": "file %s line 1: record edited (chain mismatch)" % DEPLOY}


def test_verify_missing_dir_is_usage_error(tmp_path, capsys):
    assert run(["audit", "verify", "--dir", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("content", [None, "{", '{"seq": 1}', '{"seq": -1, "chain": "%s"}' % ("0" * 64)])
def test_verify_bad_head_file_is_usage_error(trail, tmp_path, capsys, content):
    head_file = tmp_path / "head.json"
    if content is not None:
        head_file.write_text(content)
    assert run(["audit", "verify", "--dir", str(trail), "--head", str(head_file)]) == 2
    assert "--head %s" % head_file in capsys.readouterr().err


EITHER = "give either --dir DIR (a directory here) or -i INVENTORY (on the hosts), not both"


@pytest.mark.parametrize("argv, message", [
    (["--dir", "D", "-i", "inv1"], EITHER),
    (["--dir", "D", "-l", "vps1", "-e", "x=1"], "-l/--limit, -e/--extra-vars go with -i INVENTORY; --dir reads a "
                                                "directory here"),
    (["-i", "inv1", "--head", "h.json"], "--head and --format go with --dir; with -i the run checks the heads "
                                         "kept in artifacts/"),
])
def test_verify_where_to_look_is_a_usage_error(capsys, argv, message):
    assert run(["audit", "verify"] + argv) == 2
    assert capsys.readouterr().err == "nexusctl audit verify: %s\n" % message


def test_verify_on_hosts_takes_the_target_options_anywhere(monkeypatch):
    seen = []
    monkeypatch.setattr(cmd_audit, "run_playbook", lambda playbook, args: seen.append((playbook, args)) or 0)
    assert run(["-i", "inv1", "-e", "a=1", "audit", "-l", "vps1", "verify", "-e", "b=2", "-v"]) == 0
    playbook, args = seen[0]
    assert (playbook, args.inventory, args.limit, args.extra_vars, args.verbose) == (
        "audit_verify.yml", "inv1", "vps1", ["a=1", "b=2"], 1)


@pytest.mark.parametrize("argv, playbook, inventory, extravars", [
    (["audit", "verify"], "audit_verify.yml", DEFAULT_INVENTORY, None),
    (["audit", "tail"], "audit_tail.yml", DEFAULT_INVENTORY, {"audit_tail_records": 20}),
    (["-i", "inv1", "audit", "tail", "-n", "5"], "audit_tail.yml", "inv1", {"audit_tail_records": 5}),
    (["audit", "-i", "inv1", "tail", "-l", "vps1"], "audit_tail.yml", "inv1", {"audit_tail_records": 20}),
])
def test_audit_runs_on_the_hosts_of_the_inventory_by_default_the_sandbox(
        monkeypatch, argv, playbook, inventory, extravars):
    seen = []
    monkeypatch.setattr(cmd_audit, "run_playbook",
                        lambda playbook, args, extravars=None: seen.append((playbook, args.inventory, extravars)) or 0)
    assert run(argv) == 0
    assert seen == [(playbook, inventory, extravars)]


@pytest.mark.parametrize("sub", ["verify", "tail"])
def test_dir_and_inventory_together_are_a_usage_error(capsys, sub):
    assert run(["-i", "inv1", "audit", sub, "--dir", "D"]) == 2
    assert capsys.readouterr().err == "nexusctl audit %s: %s\n" % (sub, EITHER)


def test_audit_without_command_is_usage_error(capsys):
    assert run(["audit"]) == 2
    assert "verify or tail" in capsys.readouterr().err


def test_tail_prints_last_records_in_seq_order(trail, capsys):
    assert run(["audit", "tail", "--dir", str(trail), "-n", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert [line.split()[0] for line in lines] == ["3", "4", "5"]
    assert "ROLLBACK_SCRIPT_GENERATED" in lines[0] and "(%s:1)" % ROLLBACK in lines[0]
    assert "2026-01-15 10:30:45 UTC" in lines[1]
    # The hostile value is shown quoted, on its own line, with no control bytes.
    assert 'msg="only 2 GB free\\n[AUDIT] fake \\u001b[31m"' in lines[1]
    assert "\x1b" not in lines[1]
    assert "duration=12 status=failed" in lines[2]


def test_tail_default_shows_everything_when_short(trail, capsys):
    assert run(["audit", "tail", "--dir", str(trail)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 5


def test_tail_reports_lines_that_are_not_records(trail, capsys):
    with open(trail / DEPLOY, "a", encoding="utf-8") as handle:
        handle.write("not a record\n")
    assert run(["audit", "tail", "--dir", str(trail), "-n", "1"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert "1 line(s) are not audit records" in captured.err


def test_tail_missing_dir_and_bad_n(tmp_path, trail, capsys):
    assert run(["audit", "tail", "--dir", str(tmp_path / "nope")]) == 2
    assert run(["audit", "tail", "--dir", str(trail), "-n", "0"]) == 2


def test_verify_warns_and_exits_1_when_record_times_go_backwards(tmp_path, capsys):
    moments = iter([NOW + 16 * 86400, NOW])
    log = AuditLog(str(tmp_path), "20260115T103045Z-aaaaaa", DEPLOY, clock=lambda: next(moments))
    log.record("DEPLOYMENT_START", user="ops")
    log.record("DEPLOYMENT_COMPLETE", status="success")
    assert run(["audit", "verify", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("audit trail intact: 2 records")
    assert out[1] == ("WARNING: 1 record(s) dated before the record before them (a clock that went backwards, not "
                      "tampering of the hash chain; sync the host's clock (timedatectl / chrony)):")
    assert out[2] == ("  - file %s line 2: seq 2 (DEPLOYMENT_COMPLETE) is dated 2026-01-15 10:30:45, 1382400 s "
                      "(16.0 days) before seq 1 at file %s line 1 (2026-01-31 10:30:45): the clock that wrote it went "
                      "backwards (not tampering of the chain)" % (DEPLOY, DEPLOY))
    assert run(["audit", "verify", "--dir", str(tmp_path), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True and document["time_problems"][0]["kind"] == "time_backwards"
