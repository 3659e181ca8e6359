"""Files of another tool in the audit directory: the platform deploy
script's console logs are named like chain files but are not part of the
chain. They are told by content, listed, kept as they are and never called
tampering; and making a chain file look foreign cannot hide a removed
record. What nexusctl audit says of them: tests/unit/nexusctl/test_cmd_audit_foreign.py."""

from __future__ import annotations

import os

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log
from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import (
    AuditLog, export_head, foreign_reason, verify_dir)
from ansible_collections.nexus_cos.launch.plugins.modules import audit_chain_info as verify_module
from ansible_collections.nexus_cos.launch.tests.unit.utils import platform_leftovers
from ansible_collections.nexus_cos.launch.tests.unit.utils.audit_trail import (
    DEPLOY, DEPLOY2, ROLLBACK, kinds, lines_of, write_lines, write_trail)
from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import run_module

SCRIPT = platform_leftovers.SCRIPT
FIRST_LOG, KILLED_LOG = platform_leftovers.FIRST_LOG, platform_leftovers.KILLED_LOG

pytestmark = pytest.mark.usefixtures("module_exits")


@pytest.fixture
def leftovers(tmp_path):
    """The platform script's files in the audit dir: {path: (bytes, mode)}."""
    return platform_leftovers.lay_down(str(tmp_path / "audit"))


@pytest.fixture
def trail(tmp_path, leftovers):
    """Then two runs of ours, as test_audit_log has them: 4 + 2 records of
    run A (two files), 3 of run B."""
    return write_trail(tmp_path / "audit")


def strip_chain_fields(line):
    """A record with run=, seq=, prev= and chain= taken out: what someone
    would do to make a chain file pass for the platform script's log."""
    return " ".join(part for part in line.split(" ") if part.split("=")[0] not in audit_log.RESERVED_KEYS)


# ---------------------------------------------------------------- what is foreign

CONSOLE = platform_leftovers.read("deployment-20250101-101010.log")
RECORD = (b"[AUDIT] 2026-01-15 10:30:45 LOCK_ACQUIRED run=20260115T103045Z-aaaaaa seq=1 pid=1 timestamp=1 prev="
          + b"0" * 64 + b" chain=" + b"1" * 64 + b"\n")


@pytest.mark.parametrize("name, data, foreign", [
    # The platform script's files, as it names them.
    ("deployment-20250101-101010.log", CONSOLE, FIRST_LOG),
    ("deployment-20250101-101010.log", b"", "console log of the platform's deploy script "
     "(deploy-phase-4-full-launch.sh): no line carries run=, seq=, prev= or chain= (0 lines, 0 unchained [AUDIT] "
     "records)"),
    ("precheck-20250101-101010.log", b"[PASS] x\n", "precheck log of the platform's deploy script "
     "(deploy-phase-4-full-launch.sh)"),
    ("rollback-20250101-101010.sh", b"#!/bin/bash\necho\n", platform_leftovers.SCRIPT_NOT_OURS),
    # Ours under the platform's name (the marker decides), and ours by name.
    ("rollback-20250101-101010.sh", b"#!/bin/bash\n# nexus_cos.launch rendered script run_id=r\n", None),
    ("nexus-rollback-20260115T103045Z.sh", b"", None),
    ("rollback-20260115T103045Z.sh", b"", None),
    # Named like a chain file, nothing of the chain in it: someone else's.
    ("deployment-notes.log", b"some notes\n", "not written by this collection: no line carries run=, seq=, prev= "
     "or chain= (1 lines, 0 unchained [AUDIT] records)"),
    # One line carrying a chain field makes it a chain file; the rest of it is then tampering.
    ("deployment-20250101-101010.log", CONSOLE + RECORD, None),
    ("deployment-20250101-101010.log", b"[AUDIT] 2025-01-01 10:10:10 X seq=3\n", None),
    ("deployment-20250101-101010.log", b"junk chain=abc\n", None),
    # Named as this collection names its chain files: always held to the chain, whatever it holds.
    (DEPLOY, CONSOLE, None),
    (DEPLOY, b"", None),
    ("activation-20260115T103045Z.log", b"hello\n", None),
    # Not candidates at all: our reports and scripts, the cache.
    ("precheck-20260115T103045Z.log", b"PASS\n", None),
    ("rollback-20260115T103045Z.sh", b"#!/bin/bash\n", None),
    (".audit-head.json", b"{}", None),
    # Content not read (precheck 11 on a file it may not read): not called foreign.
    ("deployment-20250101-101010.log", None, None),
])
def test_foreign_reason(name, data, foreign):
    assert foreign_reason(name, data) == foreign


def test_platform_logs_are_listed_not_verified(trail, leftovers):
    result = verify_dir(str(trail))
    assert result.ok, result.problems
    assert result.records == 9 and result.head["seq"] == 9 and result.head["file"] == DEPLOY2
    assert [tuple(item) for item in result.foreign] == [
        ("deployment-20250101-101010.log", len(CONSOLE), FIRST_LOG),
        ("deployment-20250102-093000.log", len(platform_leftovers.read("deployment-20250102-093000.log")),
         KILLED_LOG), (SCRIPT, len(platform_leftovers.read(SCRIPT)), platform_leftovers.SCRIPT_NOT_OURS)]
    assert platform_leftovers.changed(leftovers) == []


def test_writing_continues_the_chain_past_the_platform_logs(trail):
    out = AuditLog(str(trail), "r3", "deployment-20260117T000000Z.log").record("AFTER")
    assert out["seq"] == 10
    assert verify_dir(str(trail)).ok


def test_read_trail_leaves_foreign_files_out(trail):
    entries, problems = audit_log.read_trail(str(trail))
    assert [e.record.seq for e in entries] == list(range(1, 10)) and problems == []
    assert [f.file for f in audit_log.foreign_files(str(trail))] == list(platform_leftovers.CONSOLE_LOGS) + [SCRIPT]


# ---------------------------------------------------------------- what cannot be hidden

def test_a_chain_file_mixed_with_platform_lines_is_tampering(trail):
    with open(trail / DEPLOY, "ab") as handle:
        handle.write(CONSOLE.splitlines(True)[8])
    result = verify_dir(str(trail))
    assert kinds(result) == ["not_a_record"] and result.first_problem.file == DEPLOY


def test_a_record_edited_to_drop_its_chain_fields_is_tampering(trail):
    lines = lines_of(trail / DEPLOY)
    lines[1] = strip_chain_fields(lines[1]).replace("pid=12345", "pid=1")
    write_lines(trail / DEPLOY, lines)
    result = verify_dir(str(trail))
    assert kinds(result) == ["not_a_record", "removed"]
    assert str(result.problems[0]) == ("file %s line 2: not an audit record (fields must start with run, seq and "
                                       "end with prev, chain; got pid, timestamp)" % DEPLOY)
    assert str(result.problems[1]) == "record(s) removed before file %s line 3 (seq 2 missing)" % DEPLOY
    assert result.foreign == tuple(audit_log.foreign_files(str(trail))) and DEPLOY not in str(result.foreign)


def test_our_chain_file_stripped_of_every_chain_field_is_still_ours_and_tampered(trail):
    write_lines(trail / ROLLBACK, [strip_chain_fields(line) for line in lines_of(trail / ROLLBACK)])
    result = verify_dir(str(trail))
    assert not result.ok
    assert kinds(result)[:2] == ["not_a_record", "not_a_record"] and "removed" in kinds(result)
    assert ROLLBACK not in [f.file for f in result.foreign]


def test_a_middle_chain_file_disguised_as_the_platform_log_shows_as_removed_records(trail):
    """Renamed to the platform's name and stripped of its chain fields, the
    file is foreign; its records are gone from the chain, and the gap says so."""
    lines = lines_of(trail / ROLLBACK)
    os.unlink(trail / ROLLBACK)
    write_lines(trail / "deployment-20250103-080000.log", [strip_chain_fields(line) for line in lines])
    result = verify_dir(str(trail))
    assert not result.ok
    assert str(result.first_problem) == "record(s) removed before file %s line 4 (seq 4 to 5 missing)" % DEPLOY
    assert "deployment-20250103-080000.log" in [f.file for f in result.foreign]


def test_the_last_chain_file_disguised_as_the_platform_log_shows_as_a_cut_trail(trail):
    head = export_head(str(trail))
    lines = lines_of(trail / DEPLOY2)
    os.unlink(trail / DEPLOY2)
    write_lines(trail / "deployment-20250103-080000.log", [strip_chain_fields(line) for line in lines])
    result = verify_dir(str(trail))
    assert str(result.first_problem) == "truncated: trail ends at seq 6 but head cache .audit-head.json is seq 9"
    # With the head cache gone too, the exported head (kept on the controller) still shows it ...
    os.unlink(trail / ".audit-head.json")
    result = verify_dir(str(trail), head=head)
    assert str(result.first_problem) == "truncated: trail ends at seq 6 but exported head is seq 9"
    # ... and without any head it is what deleting the file is: the same limit, no new one.
    assert verify_dir(str(trail)).ok
    os.unlink(trail / "deployment-20250103-080000.log")
    assert verify_dir(str(trail)).ok


# ---------------------------------------------------------------- what operators see

def test_audit_verify_module_reports_foreign_files(trail, leftovers):
    outcome = run_module(verify_module.main, {"audit_dir": str(trail)})
    assert not outcome.failed, outcome.result
    assert outcome.result["records"] == 9 and outcome.result["problems"] == []
    assert [f["file"] for f in outcome.result["foreign"]] == list(platform_leftovers.CONSOLE_LOGS) + [SCRIPT]
    assert outcome.result["report"] == [
        "9 records intact up to seq 9",
        "3 file(s) not part of the chain (another tool's records, kept as they are; not tampering):",
        "  - deployment-20250101-101010.log (%d bytes): %s" % (len(CONSOLE), FIRST_LOG),
        "  - deployment-20250102-093000.log (%d bytes): %s" % (
            len(platform_leftovers.read("deployment-20250102-093000.log")), KILLED_LOG),
        "  - %s (%d bytes): %s" % (SCRIPT, len(platform_leftovers.read(SCRIPT)), platform_leftovers.SCRIPT_NOT_OURS)]
    assert platform_leftovers.changed(leftovers) == []
