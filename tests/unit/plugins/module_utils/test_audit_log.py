# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Unit tests for plugins/module_utils/audit_log.py."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import stat

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log
from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import (
    AuditFormatError, AuditLog, ZERO_CHAIN, escape_value, export_head, new_run_id, parse_record,
    unescape_value, verify_dir)
from ansible_collections.nexus_cos.launch.tests.unit.utils.audit_trail import (
    DEPLOY, DEPLOY2, NOW, ROLLBACK, clock, kinds, lines_of, write_lines, write_trail)

SPEC_LINE = re.compile(r"^\[AUDIT\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z0-9_]+( [a-z0-9_]+=\S+)*$")

HOSTILE = [
    "two\nlines",
    "\n[AUDIT] 2026-01-15 10:30:45 FAKE_EVENT run=x seq=1 prev=%s chain=%s" % ("0" * 64, "0" * 64),
    'say "hi"',
    "it's",
    "with spaces  and\ttabs",
    "key=value other=thing",
    "=",
    "100%",
    "%41",
    "%",
    "ünïcødé ✓ 日本",
    "\r\n\x00\x1b[31m",
    "[AUDIT]",
    " chain=" + "f" * 64,
    "-",
    "",
    "--",
    "\u2028\u2029",
]


def log(tmp_path, filename=DEPLOY, run_id="20260115T103045Z-aaaaaa"):
    return AuditLog(str(tmp_path / "audit"), run_id, filename, clock=clock)


def all_trail_lines(audit_dir):
    out = []
    for name in sorted(os.listdir(audit_dir)):
        if audit_log.CHAIN_FILE_PATTERN.match(name):
            out.extend(lines_of(os.path.join(audit_dir, name)))
    return out


@pytest.fixture
def trail(tmp_path):
    return write_trail(tmp_path / "audit")


# ------------------------------------------------------------------ format

def test_record_line_has_the_decided_shape(tmp_path):
    result = log(tmp_path).record("LOCK_ACQUIRED", pid=12345, timestamp=1736937045)
    (line,) = lines_of(tmp_path / "audit" / DEPLOY)
    assert line.startswith("[AUDIT] 2026-01-15 10:30:45 LOCK_ACQUIRED run=20260115T103045Z-aaaaaa seq=1 "
                           "pid=12345 timestamp=1736937045 prev=%s chain=" % ZERO_CHAIN)
    assert SPEC_LINE.match(line)
    assert result == {"seq": 1, "chain": line[-64:], "line": 1, "file": DEPLOY}


def test_every_line_of_a_trail_matches_the_format(trail):
    lines = all_trail_lines(trail)
    assert len(lines) == 9
    for line in lines:
        assert SPEC_LINE.match(line), line


def test_field_order_is_run_seq_caller_order_prev_chain(tmp_path):
    log(tmp_path).record("X", zeta=1, alpha=2, mid=3)
    record = parse_record(lines_of(tmp_path / "audit" / DEPLOY)[0])
    keys = [part.split("=")[0] for part in record.raw.split(" ")[4:]]
    assert keys == ["run", "seq", "zeta", "alpha", "mid", "prev", "chain"]
    assert list(record.fields) == ["zeta", "alpha", "mid"]


def test_value_types_are_written_with_str(tmp_path):
    log(tmp_path).record("X", flag=True, off=False, n=-3, ratio=0.25)
    record = parse_record(lines_of(tmp_path / "audit" / DEPLOY)[0])
    assert record.fields == {"flag": "True", "off": "False", "n": "-3", "ratio": "0.25"}


def test_chain_is_sha256_of_prev_newline_and_line_before_chain(tmp_path):
    audit = log(tmp_path)
    first = audit.record("A", x=1)
    second = audit.record("B", y=2)
    line1, line2 = lines_of(tmp_path / "audit" / DEPLOY)
    text1 = line1[:line1.rindex(" chain=")]
    assert first["chain"] == hashlib.sha256((ZERO_CHAIN + "\n" + text1).encode()).hexdigest()
    text2 = line2[:line2.rindex(" chain=")]
    assert ("prev=" + first["chain"]) in text2
    assert second["chain"] == hashlib.sha256((first["chain"] + "\n" + text2).encode()).hexdigest()


def test_parse_record_returns_unescaped_fields(tmp_path):
    log(tmp_path).record("PRECHECK_DISK", status="FAIL", msg="only 2.1 GB free on /srv")
    record = parse_record(lines_of(tmp_path / "audit" / DEPLOY)[0] + "\n")
    assert record.event == "PRECHECK_DISK"
    assert record.timestamp == "2026-01-15 10:30:45"
    assert record.epoch == NOW
    assert record.run == "20260115T103045Z-aaaaaa"
    assert record.seq == 1
    assert record.prev == ZERO_CHAIN
    assert record.fields == {"status": "FAIL", "msg": "only 2.1 GB free on /srv"}
    assert record.chain_ok()


# ------------------------------------------------------------------ escaping

@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_round_trips_on_one_line(tmp_path, value):
    audit = log(tmp_path)
    audit.record("BEFORE")
    audit.record("HOSTILE", msg=value, other=value)
    audit.record("AFTER")
    lines = lines_of(tmp_path / "audit" / DEPLOY)
    assert len(lines) == 3
    for line in lines:
        assert SPEC_LINE.match(line)
        assert line.isascii()
    record = parse_record(lines[1])
    assert record.event == "HOSTILE"
    assert record.fields == {"msg": value, "other": value}
    assert [parse_record(line).event for line in lines] == ["BEFORE", "HOSTILE", "AFTER"]
    assert verify_dir(str(tmp_path / "audit")).ok


@pytest.mark.parametrize("value", HOSTILE + ["plain", "a/b:c@d+e,f~g.h-i_j"])
def test_escape_round_trip(value):
    escaped = escape_value(value)
    assert re.match(r"^\S+$", escaped)
    assert unescape_value(escaped) == value


@pytest.mark.parametrize("value,escaped", [
    ("plain-1.2_x~y:z/a@b+c,d", "plain-1.2_x~y:z/a@b+c,d"),
    ("a b", "a%20b"),
    ("k=v", "k%3Dv"),
    ('"', "%22"),
    ("'", "%27"),
    ("\n", "%0A"),
    ("%", "%25"),
    ("[", "%5B"),
    ("é", "%C3%A9"),
    ("", "-"),
    ("-", "%2D"),
])
def test_escape_exact(value, escaped):
    assert escape_value(value) == escaped


@pytest.mark.parametrize("escaped", ["%4", "%zz", "a%2", "%41", "%2d", "é", "a=b", "%C3", "%FF"])
def test_unescape_refuses_non_canonical_or_broken(escaped):
    with pytest.raises(AuditFormatError):
        unescape_value(escaped)


def test_lone_surrogate_is_refused(tmp_path):
    with pytest.raises(AuditFormatError, match="UTF-8"):
        log(tmp_path).record("X", msg="\udcff")


# ------------------------------------------------------------------ validation

@pytest.mark.parametrize("event", ["lock_acquired", "LOCK-ACQUIRED", "LOCK ACQUIRED", "", "X\n", "ÄVENT", 5, None])
def test_invalid_event_name_rejected(tmp_path, event):
    with pytest.raises(ValueError, match="audit event"):
        log(tmp_path).record(event)
    assert not (tmp_path / "audit" / DEPLOY).exists()


@pytest.mark.parametrize("key", ["Pid", "pid-x", "a b", "ключ", "x=y", "", "pid\n", 3])
def test_invalid_field_key_rejected(tmp_path, key):
    with pytest.raises(ValueError, match="field key"):
        log(tmp_path).records([("X", {key: 1})])


@pytest.mark.parametrize("key", ["run", "seq", "prev", "chain"])
def test_reserved_keys_rejected(tmp_path, key):
    with pytest.raises(ValueError, match="reserved"):
        log(tmp_path).records([("X", {key: "1"})])


@pytest.mark.parametrize("key", ["password", "db_password", "passwd", "secret", "client_secret", "token",
                                 "api_token", "credentials", "private_key", "api_key"])
def test_secret_like_keys_rejected(tmp_path, key):
    with pytest.raises(ValueError, match="secret"):
        log(tmp_path).records([("X", {key: "hunter2"})])
    assert not (tmp_path / "audit" / DEPLOY).exists()


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, b"bytes", object()])
def test_unsupported_value_types_rejected(tmp_path, value):
    with pytest.raises(ValueError, match="not allowed"):
        log(tmp_path).record("X", v=value)


def test_bad_record_in_a_batch_writes_nothing(tmp_path):
    audit = log(tmp_path)
    audit.record("FIRST")
    with pytest.raises(ValueError):
        audit.records([("OK", {"a": 1}), ("OK", {"token": "x"})])
    assert len(lines_of(tmp_path / "audit" / DEPLOY)) == 1


def test_oversized_record_rejected_and_nothing_written(tmp_path):
    audit = log(tmp_path)
    with pytest.raises(ValueError, match="over the limit"):
        audit.records([("OK", {}), ("BIG", {"msg": " " * 30000})])
    assert not (tmp_path / "audit" / DEPLOY).exists() or lines_of(tmp_path / "audit" / DEPLOY) == []


@pytest.mark.parametrize("name", ["precheck-20260115T103045Z.log", "deployment-x.txt", "../deployment-x.log",
                                  "sub/deployment-x.log", "deployment-.log", "deployment-a b.log", "x.log"])
def test_file_names_outside_the_chain_rejected(tmp_path, name):
    with pytest.raises(ValueError, match="audit file name"):
        AuditLog(str(tmp_path), "run", name)


@pytest.mark.parametrize("run_id", ["", None, 5])
def test_bad_run_id_rejected(tmp_path, run_id):
    with pytest.raises(ValueError, match="run_id"):
        AuditLog(str(tmp_path), run_id, DEPLOY)


def test_empty_batch_writes_nothing(tmp_path):
    assert log(tmp_path).records([]) == []
    assert not (tmp_path / "audit").exists()


@pytest.mark.parametrize("line,reason", [
    ("", "does not start"),
    ("hello", "does not start"),
    ("[AUDIT] 2026-01-15 10:30:45 FAKE_EVENT pid=1", "must start with run, seq"),
    ("[AUDIT] 2026-01-15 10:30:45 X run=r seq=1 prev=%s" % ZERO_CHAIN, "must start with run, seq"),
    ("[AUDIT] 2026-01-15 10:30:45 X seq=1 run=r prev=%s chain=%s" % (ZERO_CHAIN, ZERO_CHAIN), "must start"),
    ("[AUDIT] 2026-01-15 10:30:45 X run=r seq=01 prev=%s chain=%s" % (ZERO_CHAIN, ZERO_CHAIN), "seq"),
    ("[AUDIT] 2026-01-15 10:30:45 X run=r seq=1 prev=abc chain=%s" % ZERO_CHAIN, "prev"),
    ("[AUDIT] 2026-01-15 10:30:45 X run=r seq=1 prev=%s chain=%s" % (ZERO_CHAIN, "A" * 64), "chain"),
    ("[AUDIT] 2026-13-45 10:30:45 X run=r seq=1 prev=%s chain=%s" % (ZERO_CHAIN, ZERO_CHAIN), "timestamp"),
    ("[AUDIT] 2026-01-15 10:30:45 X run=r seq=1 a=1 a=2 prev=%s chain=%s" % (ZERO_CHAIN, ZERO_CHAIN), "duplicate"),
    ("[AUDIT] 2026-01-15 10:30:45 X run=r seq=1 seq=2 prev=%s chain=%s" % (ZERO_CHAIN, ZERO_CHAIN), "duplicate"),
    ("[AUDIT] 2026-01-15 10:30:45 X run=r seq=1 msg=a\"b prev=%s chain=%s" % (ZERO_CHAIN, ZERO_CHAIN), "msg"),
    ("[AUDIT] 2026-01-15 10:30:45 X run=r seq=1 msg=k=v prev=%s chain=%s" % (ZERO_CHAIN, ZERO_CHAIN), "msg"),
    ("[AUDIT] 2026-01-15 10:30:45 lower run=r seq=1 prev=%s chain=%s" % (ZERO_CHAIN, ZERO_CHAIN), "does not match"),
    ("[AUDIT] 2026-01-15 10:30:45 X run=r seq=1 prev=%s chain=%s\r" % (ZERO_CHAIN, ZERO_CHAIN), "does not match"),
    (b"[AUDIT] \xff", "UTF-8"),
    ("[AUDIT] 2026-01-15 10:30:45 X run=r seq=1 prev=%s chain=%s\n\n" % (ZERO_CHAIN, ZERO_CHAIN), "does not match"),
])
def test_parse_record_rejects_with_reason(line, reason):
    with pytest.raises(ValueError, match=reason):
        parse_record(line)


# ------------------------------------------------------------------ names and time

def test_run_id():
    run_id = new_run_id(NOW)
    assert re.match(r"^20260115T103045Z-[0-9a-f]{6}$", run_id)
    assert len({new_run_id(NOW) for dummy in range(20)}) > 1


# ------------------------------------------------------------------ chain across files and runs

def test_chain_spans_files_and_runs(trail):
    records = []
    for name in (DEPLOY, ROLLBACK, DEPLOY2):
        records.extend(parse_record(line) for line in lines_of(trail / name))
    records.sort(key=lambda r: r.seq)
    assert [r.seq for r in records] == list(range(1, 10))
    assert records[0].prev == ZERO_CHAIN
    for before, after in zip(records, records[1:]):
        assert after.prev == before.chain
    assert {r.run for r in records} == {"20260115T103045Z-aaaaaa", "20260116T090000Z-bbbbbb"}
    assert [parse_record(line).seq for line in lines_of(trail / ROLLBACK)] == [4, 5]
    assert [parse_record(line).seq for line in lines_of(trail / DEPLOY)] == [1, 2, 3, 6]


def test_verify_intact_trail(trail):
    result = verify_dir(str(trail))
    assert result.ok, result.problems
    assert result.records == 9
    assert result.problems == [] and result.first_problem is None
    assert result.head["seq"] == 9 and result.head["file"] == DEPLOY2 and result.head["line"] == 3


def test_verify_ignores_precheck_report_and_other_files(trail):
    (trail / "precheck-20260115T103045Z.log").write_text("PASS system\nFAIL disk\n")
    (trail / "rollback-20260115T103045Z.sh").write_text("#!/bin/sh\n")
    assert verify_dir(str(trail)).ok


def test_verify_empty_and_missing_dir(tmp_path):
    result = verify_dir(str(tmp_path))
    assert result.ok and result.records == 0 and result.head["seq"] == 0
    with pytest.raises(FileNotFoundError):
        verify_dir(str(tmp_path / "missing"))


def test_export_head_and_verify_against_it(trail):
    head = export_head(str(trail))
    assert head == {"seq": 9, "chain": parse_record(lines_of(trail / DEPLOY2)[-1]).chain,
                    "file": DEPLOY2, "line": 3, "records": 9}
    assert verify_dir(str(trail), head=head).ok
    # A trail that grew after the export still verifies against it.
    AuditLog(str(trail), "r3", "activation-20260117T000000Z.log").record("FLAG_ENABLED", flag="x")
    assert verify_dir(str(trail), head=head).ok


def test_head_cache_matches_last_record(trail):
    cache = json.loads((trail / ".audit-head.json").read_text())
    last = parse_record(lines_of(trail / DEPLOY2)[-1])
    assert cache == {"seq": 9, "chain": last.chain, "file": DEPLOY2, "line": 3}


def test_records_batch_returns_each_record(tmp_path):
    audit = log(tmp_path)
    audit.record("FIRST")
    out = audit.records([("A", {"x": 1}), ("B", {}), ("C", {"y": "z"})])
    assert [r["seq"] for r in out] == [2, 3, 4]
    assert [r["line"] for r in out] == [2, 3, 4]
    assert out[1]["chain"] == parse_record(lines_of(tmp_path / "audit" / DEPLOY)[2]).chain
    assert verify_dir(str(tmp_path / "audit")).ok


# ------------------------------------------------------------------ tampering

def tamper(path, edit):
    lines = lines_of(path)
    write_lines(path, edit(lines))


def test_detects_edited_value(trail):
    tamper(trail / DEPLOY, lambda l: [l[0], l[1].replace("pid=12345", "pid=12346"), l[2], l[3]])
    result = verify_dir(str(trail))
    assert not result.ok
    assert str(result.first_problem) == "file %s line 2: record edited (chain mismatch)" % DEPLOY
    assert (result.first_problem.file, result.first_problem.line) == (DEPLOY, 2)
    assert kinds(result) == ["edited"]


def test_detects_edit_with_recomputed_chain(trail):
    def edit(lines):
        record = parse_record(lines[1])
        text = record.hashed_text.replace("pid=12345", "pid=1")
        lines[1] = "%s chain=%s" % (text, audit_log.compute_chain(record.prev, text))
        return lines
    tamper(trail / DEPLOY, edit)
    result = verify_dir(str(trail))
    assert not result.ok
    first = result.first_problem
    assert first.kind == "edited" and first.file == DEPLOY and first.line == 3
    assert "prev does not match the chain of seq 2 at file %s line 2" % DEPLOY in first.message


def test_detects_removed_middle_record(trail):
    tamper(trail / DEPLOY, lambda l: [l[0], l[2], l[3]])
    result = verify_dir(str(trail))
    assert not result.ok
    assert str(result.first_problem) == "record(s) removed before file %s line 2 (seq 2 missing)" % DEPLOY
    assert kinds(result) == ["removed"]


def test_detects_removed_first_records(trail):
    tamper(trail / DEPLOY, lambda l: l[2:])
    result = verify_dir(str(trail))
    assert kinds(result) == ["removed"]
    assert "seq 1 to 2 missing" in str(result.first_problem)


def test_detects_removed_whole_file(trail):
    os.unlink(trail / ROLLBACK)
    result = verify_dir(str(trail))
    assert kinds(result) == ["removed"]
    assert str(result.first_problem) == "record(s) removed before file %s line 4 (seq 4 to 5 missing)" % DEPLOY


def test_detects_removed_last_record_with_exported_head(trail):
    head = export_head(str(trail))
    os.unlink(trail / ".audit-head.json")
    tamper(trail / DEPLOY2, lambda l: l[:-1])
    assert verify_dir(str(trail)).ok   # without any head the cut is invisible
    result = verify_dir(str(trail), head=head)
    assert not result.ok
    assert str(result.first_problem) == "truncated: trail ends at seq 8 but exported head is seq 9"
    assert kinds(result) == ["truncated"]


def test_detects_removed_last_record_from_head_cache(trail):
    tamper(trail / DEPLOY2, lambda l: l[:-1])
    result = verify_dir(str(trail))
    assert not result.ok
    assert str(result.first_problem) == "truncated: trail ends at seq 8 but head cache .audit-head.json is seq 9"


def test_detects_rewritten_trail_against_exported_head(trail):
    """Anyone who can write the files can recompute the whole chain; the
    head exported to the controller is what catches that."""
    head = export_head(str(trail))
    os.unlink(trail / ".audit-head.json")
    rewritten, prev = {}, ZERO_CHAIN
    records = sorted(((parse_record(line), name) for name in (DEPLOY, ROLLBACK, DEPLOY2)
                      for line in lines_of(trail / name)), key=lambda item: item[0].seq)
    for record, name in records:
        text = record.hashed_text.replace("prev=" + record.prev, "prev=" + prev).replace("user=ops", "user=eve")
        prev = audit_log.compute_chain(prev, text)
        rewritten.setdefault(name, []).append("%s chain=%s" % (text, prev))
    for name, lines in rewritten.items():
        write_lines(trail / name, lines)
    assert verify_dir(str(trail)).ok
    result = verify_dir(str(trail), head=head)
    assert kinds(result) == ["head_mismatch"]
    assert str(result.first_problem).startswith("head mismatch: seq 9 at file %s line 3" % DEPLOY2)


def test_detects_reorder_within_a_file(trail):
    tamper(trail / DEPLOY, lambda l: [l[0], l[2], l[1], l[3]])
    result = verify_dir(str(trail))
    assert not result.ok
    assert str(result.first_problem) == "file %s line 3: record out of order (seq 2 after seq 3)" % DEPLOY
    assert kinds(result) == ["out_of_order"]


def test_detects_inserted_forged_line(trail):
    forged = "[AUDIT] 2026-01-15 10:31:00 FAKE_EVENT pid=1 timestamp=%d" % NOW
    tamper(trail / DEPLOY, lambda l: l[:2] + [forged] + l[2:])
    result = verify_dir(str(trail))
    assert not result.ok
    first = result.first_problem
    assert (first.kind, first.file, first.line) == ("not_a_record", DEPLOY, 3)
    assert first.message.startswith("file %s line 3: not an audit record (" % DEPLOY)


def test_detects_inserted_well_formed_line_with_duplicate_seq(trail):
    def insert(lines):
        good = parse_record(lines[1])
        forged = good.hashed_text.replace("LOCK_ACQUIRED", "LOCK_RELEASED") + " chain=" + "ab" * 32
        return lines[:2] + [forged] + lines[2:]
    tamper(trail / DEPLOY, insert)
    result = verify_dir(str(trail))
    assert not result.ok
    assert "inserted" in kinds(result)
    inserted = [p for p in result.problems if p.kind == "inserted"][0]
    assert (inserted.file, inserted.line) == (DEPLOY, 3)
    assert "duplicate seq 2, also at file %s line 2" % DEPLOY in inserted.message


def test_detects_inserted_record_with_new_seq_and_bad_chain(trail):
    last = parse_record(lines_of(trail / DEPLOY2)[-1])
    forged = ("[AUDIT] 2026-01-16 10:00:00 DEPLOYMENT_COMPLETE run=x seq=10 status=success prev=%s chain=%s"
              % (last.chain, "cd" * 32))
    tamper(trail / DEPLOY2, lambda l: l + [forged])
    result = verify_dir(str(trail))
    assert str(result.first_problem) == "file %s line 4: record edited (chain mismatch)" % DEPLOY2


def test_detects_blank_and_garbage_lines(trail):
    tamper(trail / ROLLBACK, lambda l: ["garbage at the top"] + l + [""])
    result = verify_dir(str(trail))
    assert [(p.file, p.line, p.kind) for p in result.problems] == [
        (ROLLBACK, 1, "not_a_record"), (ROLLBACK, 4, "not_a_record")]


def test_first_problem_is_the_earliest_in_the_chain(trail):
    tamper(trail / DEPLOY2, lambda l: [l[0], l[1].replace("pid=999", "pid=1"), l[2]])
    tamper(trail / DEPLOY, lambda l: [l[0].replace("user=ops", "user=x")] + l[1:])
    tamper(trail / ROLLBACK, lambda l: l + ["junk"])
    result = verify_dir(str(trail))
    assert [(p.file, p.line) for p in result.problems] == [(DEPLOY, 1), (ROLLBACK, 3), (DEPLOY2, 2)]


def test_invalid_exported_head_refused(trail):
    with pytest.raises(ValueError, match="chain"):
        verify_dir(str(trail), head={"seq": 1, "chain": "nope"})
    with pytest.raises(ValueError, match="seq"):
        verify_dir(str(trail), head={"seq": "1", "chain": ZERO_CHAIN})


# ------------------------------------------------------------------ head cache

def test_head_cache_deleted_is_recomputed(trail):
    os.unlink(trail / ".audit-head.json")
    out = AuditLog(str(trail), "r3", DEPLOY2).record("AFTER")
    assert out["seq"] == 10 and out["line"] == 4
    assert json.loads((trail / ".audit-head.json").read_text())["seq"] == 10
    assert verify_dir(str(trail)).ok


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"seq": "x"}', '{"seq": 3, "chain": "zz"}'])
def test_head_cache_corrupted_is_recomputed(trail, content):
    (trail / ".audit-head.json").write_text(content)
    out = AuditLog(str(trail), "r3", "activation-20260117T000000Z.log").record("AFTER")
    assert out["seq"] == 10 and out["line"] == 1
    assert verify_dir(str(trail)).ok


def test_head_cache_behind_the_files_is_recomputed(trail):
    """A crash after writing a record to a new file but before the cache
    update leaves a cache that still agrees with the file it names."""
    first = parse_record(lines_of(trail / DEPLOY)[0])
    (trail / ".audit-head.json").write_text(json.dumps({"seq": 1, "chain": first.chain, "file": DEPLOY, "line": 1}))
    out = AuditLog(str(trail), "r3", DEPLOY).record("AFTER")
    assert out["seq"] == 10 and out["line"] == 5
    assert verify_dir(str(trail)).ok


def test_head_cache_with_wrong_chain_is_recomputed(trail):
    (trail / ".audit-head.json").write_text(json.dumps({"seq": 9, "chain": "e" * 64, "file": DEPLOY2, "line": 3}))
    assert AuditLog(str(trail), "r3", DEPLOY2).record("AFTER")["seq"] == 10
    assert verify_dir(str(trail)).ok


def test_head_cache_ahead_of_files_keeps_the_removal_visible(trail):
    tamper(trail / DEPLOY2, lambda l: l[:-1])
    out = AuditLog(str(trail), "r3", "deployment-20260117T000000Z.log").record("AFTER")
    assert out["seq"] == 10
    result = verify_dir(str(trail))
    assert kinds(result) == ["removed"]
    assert "seq 9 missing" in str(result.first_problem)


# ------------------------------------------------------------------ files on disk

def test_permissions_are_umask_proof(tmp_path):
    old = os.umask(0)
    try:
        log(tmp_path).record("X")
    finally:
        os.umask(old)
    audit_dir = tmp_path / "audit"
    assert stat.S_IMODE(os.stat(audit_dir).st_mode) == 0o750
    for name in (DEPLOY, ".audit-head.json", ".audit.lock"):
        assert stat.S_IMODE(os.stat(audit_dir / name).st_mode) == 0o640, name


def test_permissions_with_strict_umask(tmp_path):
    old = os.umask(0o077)
    try:
        log(tmp_path).record("X")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "audit").st_mode) == 0o750
    assert stat.S_IMODE(os.stat(tmp_path / "audit" / DEPLOY).st_mode) == 0o640


def test_existing_file_mode_is_not_changed(tmp_path):
    audit = log(tmp_path)
    audit.record("X")
    os.chmod(audit.path, 0o600)
    audit.record("Y")
    assert stat.S_IMODE(os.stat(audit.path).st_mode) == 0o600


def test_audit_dir_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "audit").write_text("")
    with pytest.raises(OSError):
        log(tmp_path).record("X")


def test_symlinked_chain_file_is_not_followed(tmp_path):
    audit_dir = tmp_path / "audit"
    audit_dir.mkdir()
    target = tmp_path / "elsewhere"
    target.write_text("")
    os.symlink(target, audit_dir / DEPLOY)
    with pytest.raises(OSError):
        log(tmp_path).record("X")
    assert target.read_text() == ""


def test_cut_short_write_leaves_a_visible_line_and_the_next_record_starts_fresh(tmp_path):
    audit = log(tmp_path)
    audit.record("A")
    with open(audit.path, "a", encoding="ascii") as handle:
        handle.write("[AUDIT] 2026-01-15 10:30:45 B run=r se")
    out = audit.record("C")
    lines = lines_of(audit.path)
    assert len(lines) == 3 and out["line"] == 3
    assert parse_record(lines[2]).seq == 2
    result = verify_dir(str(tmp_path / "audit"))
    assert [(p.line, p.kind) for p in result.problems] == [(2, "not_a_record")]


def _append_many(audit_dir, filename, run_id, count):
    audit = AuditLog(audit_dir, run_id, filename)
    for index in range(count):
        audit.record("CONCURRENT", index=index, writer=run_id)


@pytest.mark.parametrize("same_file", [True, False])
def test_two_processes_appending_keep_one_chain(tmp_path, same_file):
    audit_dir = str(tmp_path / "audit")
    context = multiprocessing.get_context("fork")
    names = [DEPLOY, DEPLOY] if same_file else [DEPLOY, ROLLBACK]
    workers = [context.Process(target=_append_many, args=(audit_dir, names[i], "run%d" % i, 50)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    result = verify_dir(audit_dir)
    assert result.ok, result.problems
    assert result.records == 100 and result.head["seq"] == 100
    seqs = sorted(parse_record(line).seq for line in all_trail_lines(audit_dir))
    assert seqs == list(range(1, 101))
    for line in all_trail_lines(audit_dir):
        assert SPEC_LINE.match(line)


# ---------------------------------------------------------------- the fast path of an intact trail

def _full_only(monkeypatch):
    monkeypatch.setattr(audit_log, "_verify_intact", lambda files, head, cache: None)


def test_an_intact_trail_takes_the_fast_path_with_the_full_checks_answer(trail, monkeypatch):
    """Interleaved runs (run A's files around the rollback's), a head cache
    and an exported head: the fast path answers, and exactly as the full
    check would."""
    files, cache = audit_log._read_candidates(str(trail))
    head = audit_log.export_head(str(trail))
    assert audit_log._verify_intact(audit_log.split_foreign(files)[0], head, cache) is not None
    fast = audit_log.verify_dir(str(trail), head=head)
    _full_only(monkeypatch)
    full = audit_log.verify_dir(str(trail), head=head)
    assert fast == full and fast.ok and fast.records == full.records


@pytest.mark.parametrize("damage", ["edit", "remove", "reorder", "insert", "garbage", "truncate", "head"])
def test_anything_wrong_leaves_the_fast_path_for_the_full_check(trail, damage):
    name = sorted(n for n in os.listdir(str(trail)) if n.endswith(".log"))[0]
    path = os.path.join(str(trail), name)
    lines = open(path, "rb").read().split(b"\n")[:-1]
    head = audit_log.export_head(str(trail))
    if damage == "edit":
        lines[1] = lines[1].replace(b"pid=12345", b"pid=12346")
    elif damage == "remove":
        del lines[1]
    elif damage == "reorder":
        lines[1], lines[2] = lines[2], lines[1]
    elif damage == "insert":
        lines.insert(1, lines[1])
    elif damage == "garbage":
        lines.insert(1, b"not a record")
    if damage not in ("truncate", "head"):
        with open(path, "wb") as handle:
            handle.write(b"\n".join(lines) + b"\n")
    elif damage == "truncate":
        head = dict(head, seq=head["seq"] + 1)
    else:
        head = dict(head, chain="f" * 64)
    files, cache = audit_log._read_candidates(str(trail))
    assert audit_log._verify_intact(audit_log.split_foreign(files)[0], head, cache) is None
    result = audit_log.verify_dir(str(trail), head=head)
    assert not result.ok and result.problems   # named by the full check, as before


def test_an_empty_trail_is_intact(tmp_path):
    audit_dir = tmp_path / "audit"
    audit_dir.mkdir()
    result = audit_log.verify_dir(str(audit_dir))
    assert result.ok and result.records == 0 and result.head["seq"] == 0


# ---------------------------------------------------------------- time order and the newest record

def _dated_trail(audit_dir, times, filename=DEPLOY):
    moments = iter(times)
    log_ = audit_log.AuditLog(str(audit_dir), "20260115T103045Z-aaaaaa", filename, clock=lambda: next(moments))
    for index in range(len(times)):
        log_.record("STEP", n=index)


@pytest.mark.parametrize("damaged", [False, True])
def test_verify_reports_record_times_going_backwards_apart_from_tampering(tmp_path, damaged):
    t = 1768473045          # 2026-01-15 10:30:45 UTC
    _dated_trail(tmp_path, [t, t + 16 * 86400, t + 60, t + 63])
    if damaged:             # the full check (a bad line) reports times the same way
        with open(tmp_path / DEPLOY, "a", encoding="ascii") as handle:
            handle.write("garbage\n")
    result = audit_log.verify_dir(str(tmp_path))
    assert result.ok is (not damaged)
    assert [str(p) for p in result.time_problems] == [
        "file %s line 3: seq 3 (STEP) is dated 2026-01-15 10:31:45, 1382340 s (16.0 days) before seq 2 at file %s "
        "line 2 (2026-01-31 10:30:45): the clock that wrote it went backwards (not tampering of the chain)"
        % (DEPLOY, DEPLOY)]
    assert result.time_problems[0].kind == "time_backwards"


def test_verify_tolerates_a_few_seconds_back_across_files(tmp_path):
    t = 1768473045
    _dated_trail(tmp_path, [t + 5])
    _dated_trail(tmp_path, [t], filename="rollback-20260115T103045Z.log")
    assert audit_log.verify_dir(str(tmp_path)).time_problems == ()
    _dated_trail(tmp_path, [t - 10])
    assert [p.line for p in audit_log.verify_dir(str(tmp_path)).time_problems] == [2]


def test_newest_record_is_the_latest_dated_last_record(tmp_path):
    t = 1768473045
    assert audit_log.newest_record(str(tmp_path / "missing")) is None
    _dated_trail(tmp_path, [t, t + 100])
    _dated_trail(tmp_path, [t + 50], filename="rollback-20260115T103045Z.log")
    newest = audit_log.newest_record(str(tmp_path))
    assert (newest.file, newest.record.seq, newest.record.epoch) == (DEPLOY, 2, t + 100)


def test_no_record_goes_through_an_audit_dir_that_is_a_symlink(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    audit = tmp_path / "audit"
    audit.symlink_to(theirs)
    with pytest.raises(PermissionError) as caught:
        audit_log.AuditLog(str(audit), "run-1", "deployment-x.log").record("DEPLOYMENT_START")
    assert str(caught.value) == (
        "[Errno 1] audit directory %s is a symlink to %s: not trusted, so nothing is written there (replace the "
        "symlink %s with the directory or file it stands for (a symlink the collection did not make is never "
        "followed))" % (audit, theirs, audit))
    assert list(theirs.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the directory to another user")
def test_no_record_goes_into_an_audit_dir_another_user_owns(tmp_path):
    audit = tmp_path / "audit"
    audit.mkdir(mode=0o750)
    os.chown(audit, 65534, 65534)
    with pytest.raises(PermissionError, match="audit directory %s is owned by .*uid 65534.*: not trusted" % audit):
        audit_log.AuditLog(str(audit), "run-1", "deployment-x.log").record("DEPLOYMENT_START")
    assert list(audit.iterdir()) == []


def test_a_world_writable_audit_dir_is_refused(tmp_path):
    audit = tmp_path / "audit"
    audit.mkdir()
    audit.chmod(0o777)
    with pytest.raises(PermissionError, match=r"writable by every user \(mode 0777\): not trusted"):
        audit_log.AuditLog(str(audit), "run-1", "deployment-x.log").record("DEPLOYMENT_START")
