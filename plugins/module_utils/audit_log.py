# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Tamper-evident audit trail: one line per record, hash-chained across every
chain file and run of one audit directory.

The format, the escaping, the chain and what verification reports are
specified in docs/audit-format.md. Stdlib only: this file also runs on the
managed host.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import time
from typing import NamedTuple, Optional

from ansible_collections.nexus_cos.launch.plugins.module_utils import utc_time
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import fsync_dir, write_atomic
from ansible_collections.nexus_cos.launch.plugins.module_utils.trusted_path import entry_problem

HEAD_CACHE = ".audit-head.json"
LOCK_FILE = ".audit.lock"
ZERO_CHAIN = "0" * 64
FILE_MODE = 0o640
DIR_MODE = 0o750
# Bounds a record so a tail read of this size always holds the last full line.
MAX_LINE_BYTES = 65536
RESERVED_KEYS = ("run", "seq", "prev", "chain")
# A field key containing one of these is refused: the trail must never hold a
# secret, and a key is where one would arrive by accident.
SECRET_KEY_PARTS = ("password", "passwd", "secret", "token", "credential", "private_key", "api_key", "apikey")

LINE_PATTERN = re.compile(r"^\[AUDIT\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z0-9_]+( [a-z0-9_]+=\S+)*$", re.ASCII)
_LINE_PARTS = re.compile(r"^\[AUDIT\] (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ([A-Z0-9_]+)((?: [a-z0-9_]+=\S+)*)\Z", re.ASCII)
EVENT_PATTERN = re.compile(r"^[A-Z0-9_]+\Z", re.ASCII)
KEY_PATTERN = re.compile(r"^[a-z0-9_]+\Z", re.ASCII)
# Files that may belong to the chain; anything else in the directory
# (precheck reports, rollback scripts) is ignored by the chain. Whether such
# a file does belong is told by its content (foreign_reason).
CHAIN_FILE_PATTERN = re.compile(r"^(deployment|rollback|activation)-.*\.log\Z")
# The names this collection's writers give their chain files: <kind>-<UTC
# stamp>[...].log. A file so named is always held to the chain.
OWN_FILE_PATTERN = re.compile(r"^(deployment|rollback|activation)-([0-9]{8}T[0-9]{6}Z)[A-Za-z0-9._-]*\.log\Z")
# The platform's own deploy script writes to the same directory, stamped
# YYYYmmdd-HHMMSS: its console log, its precheck log and its rollback script.
PLATFORM_SCRIPT = "deploy-phase-4-full-launch.sh"
PLATFORM_FILE_PATTERN = re.compile(
    r"^(?:(deployment|precheck)-[0-9]{8}-[0-9]{6}\.log|(rollback)-[0-9]{8}-[0-9]{6}\.sh)\Z")
_PLATFORM_FILES = {"deployment": "console log", "precheck": "precheck log", "rollback": "rollback script"}
# The on-host scripts this collection renders: nexus-<kind>-<UTC stamp>.sh, a
# name no other tool gives (the platform's rollback-YYYYmmdd-HHMMSS.sh sits in
# the same directory), with MARKER on their second line. Versions before
# the nexus- prefix named them <kind>-<UTC stamp>.sh: still ours by name.
SCRIPT_KINDS = ("rollback", "emergency")
SCRIPT_MARKER = "# nexus_cos.launch rendered script"
OUR_SCRIPT_PATTERN = re.compile(r"^(?:nexus-)?(rollback|emergency)-([0-9]{8}T[0-9]{6}Z)\.sh\Z")
_SCRIPT_HEAD_BYTES = 512
# A line carrying one of the chain's own fields belongs to the chain.
_CHAIN_FIELD = re.compile(rb"(?:^|[ \t])(?:run|seq|prev|chain)=", re.M)
_UNCHAINED_AUDIT = re.compile(rb"^\[AUDIT\] ", re.M)
# What a writer may create: the chain pattern, restricted to plain characters.
_WRITABLE_NAME = re.compile(r"^(deployment|rollback|activation)-[A-Za-z0-9][A-Za-z0-9._-]*\.log\Z", re.ASCII)
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z", re.ASCII)
_SEQ = re.compile(r"^[1-9][0-9]*\Z", re.ASCII)
_ESCAPED_VALUE = re.compile(r"^(?:[A-Za-z0-9._~:/@+,-]|%[0-9A-F]{2})+\Z", re.ASCII)
_SAFE_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~:/@+,-")
# The empty value is written as a lone "-" (the format has no empty values);
# a value that is itself "-" is therefore written escaped, as %2D.
_EMPTY_VALUE = "-"

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class AuditFormatError(ValueError):
    """A record that cannot be written (bad event, key or value) or a line
    that is not an audit record."""


class Record(NamedTuple):
    event: str
    timestamp: str          # "2026-01-15 10:30:45", UTC
    fields: dict            # caller fields, unescaped, in line order (no run/seq/prev/chain)
    raw: str                # the line as written, without its newline
    run: str
    seq: int
    prev: str
    chain: str

    @property
    def epoch(self) -> int:
        return utc_time.audit_epoch(self.timestamp)

    @property
    def hashed_text(self) -> str:
        """The part of the line the chain covers (everything before " chain=")."""
        return self.raw[:self.raw.rindex(" chain=")]

    def chain_ok(self) -> bool:
        return compute_chain(self.prev, self.hashed_text) == self.chain


class RecordAt(NamedTuple):
    file: str
    line: int
    record: Record


class Problem(NamedTuple):
    file: Optional[str]
    line: Optional[int]
    message: str            # complete sentence, names file and line where there is one
    kind: str               # not_a_record, out_of_order, removed, inserted, edited, truncated, head_mismatch

    def __str__(self):
        return self.message


class ForeignFile(NamedTuple):
    """A file of the audit directory that is another tool's, not part of the
    chain: kept as it is, listed, never called tampering."""
    file: str
    size: int
    reason: str

    def __str__(self):
        return "%s (%d bytes): %s" % (self.file, self.size, self.reason)


class VerifyResult(NamedTuple):
    ok: bool
    records: int
    head: dict              # {seq, chain, file, line} of the record with the highest seq
    problems: list          # [Problem], earliest point of tampering first
    foreign: tuple = ()     # (ForeignFile,) files named like chain files that are another tool's
    # (Problem,) kind time_backwards: records dated before the record before
    # them. A clock that was wrong, not tampering: ok does not depend on it.
    time_problems: tuple = ()

    @property
    def first_problem(self) -> Optional[Problem]:
        return self.problems[0] if self.problems else None


# ---------------------------------------------------------------- values

def escape_value(value) -> str:
    """Percent-encode ``str(value)`` (UTF-8) outside [A-Za-z0-9._~:/@+,-]."""
    if isinstance(value, bool) or isinstance(value, (int, float)):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise AuditFormatError("value of type %s is not allowed (expected str, int, float or bool)"
                               % type(value).__name__)
    if text == "":
        return _EMPTY_VALUE
    if text == _EMPTY_VALUE:
        return "%2D"
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AuditFormatError("value is not encodable as UTF-8: %s" % exc)
    return "".join(chr(b) if b in _SAFE_BYTES else "%%%02X" % b for b in data)


def unescape_value(escaped: str) -> str:
    """Inverse of escape_value; refuses anything escape_value would not write."""
    if escaped == _EMPTY_VALUE:
        return ""
    if not _ESCAPED_VALUE.match(escaped):
        raise AuditFormatError("value %r has characters that must be percent-encoded" % escaped[:80])
    data = bytearray()
    i = 0
    while i < len(escaped):
        if escaped[i] == "%":
            data.append(int(escaped[i + 1:i + 3], 16))
            i += 3
        else:
            data.append(ord(escaped[i]))
            i += 1
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AuditFormatError("value %r does not decode to UTF-8" % escaped[:80])
    if escape_value(text) != escaped:
        raise AuditFormatError("value %r is not in canonical escaped form" % escaped[:80])
    return text


def compute_chain(prev: str, hashed_text: str) -> str:
    return hashlib.sha256((prev + "\n" + hashed_text).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- run ids

def new_run_id(now=None) -> str:
    """20260115T103045Z-1a2b3c: the UTC stamp (utc_time.utc_stamp) plus 24
    random bits, so two runs started in the same second still differ."""
    return "%s-%s" % (utc_time.utc_stamp(now), os.urandom(3).hex())


def _check_event(event) -> str:
    if not isinstance(event, str) or not EVENT_PATTERN.match(event):
        raise AuditFormatError("audit event %r: expected a name of [A-Z0-9_]+" % (event,))
    return event


def _check_fields(event, fields) -> list:
    """Validated (key, escaped value) pairs in the caller's order."""
    pairs = []
    for key, value in fields.items():
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise AuditFormatError("audit event %s: field key %r: expected [a-z0-9_]+" % (event, key))
        if key in RESERVED_KEYS:
            raise AuditFormatError("audit event %s: field key %r is reserved (set by the trail itself)" % (event, key))
        for part in SECRET_KEY_PARTS:
            if part in key:
                raise AuditFormatError("audit event %s: field key %r looks like a secret (contains %r); "
                                       "secrets never go into the audit trail" % (event, key, part))
        try:
            pairs.append((key, escape_value(value)))
        except AuditFormatError as exc:
            raise AuditFormatError("audit event %s: field %r: %s" % (event, key, exc))
    return pairs


def format_record(event, run_id, seq, fields, prev, when) -> tuple:
    """(line without newline, chain) for one record. ``fields`` is a mapping of
    caller fields; ``when`` epoch seconds."""
    _check_event(event)
    parts = ["[AUDIT]", utc_time.audit_time(when), event,
             "run=" + escape_value(run_id), "seq=%d" % seq]
    parts.extend("%s=%s" % pair for pair in _check_fields(event, fields))
    parts.append("prev=" + prev)
    text = " ".join(parts)
    chain = compute_chain(prev, text)
    return "%s chain=%s" % (text, chain), chain


# ---------------------------------------------------------------- parsing

def parse_record(line) -> Record:
    """Parse one line (a trailing newline is allowed). Raises AuditFormatError
    (a ValueError) saying what is wrong."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            raise AuditFormatError("line is not valid UTF-8")
    if line.endswith("\n"):
        line = line[:-1]
    match = _LINE_PARTS.match(line)
    if not match:
        if not line.startswith("[AUDIT] "):
            raise AuditFormatError("line does not start with '[AUDIT] '")
        raise AuditFormatError("line does not match '[AUDIT] YYYY-MM-DD HH:MM:SS EVENT key=value ...'")
    timestamp, event, rest = match.groups()
    try:
        utc_time.audit_epoch(timestamp)
    except ValueError:
        raise AuditFormatError("timestamp %r is not a valid date and time" % timestamp)
    pairs = [item.partition("=") for item in rest[1:].split(" ")] if rest else []
    keys = [key for key, dummy, dummy in pairs]
    if len(keys) < 4 or keys[:2] != ["run", "seq"] or keys[-2:] != ["prev", "chain"]:
        raise AuditFormatError("fields must start with run, seq and end with prev, chain; got %s"
                               % ", ".join(keys))
    if len(set(keys)) != len(keys):
        raise AuditFormatError("duplicate field key")
    middle = keys[2:-2]
    for key in middle:
        if key in RESERVED_KEYS:
            raise AuditFormatError("reserved key %r out of place" % key)
    raw_values = dict((key, value) for key, dummy, value in pairs)
    if not _SEQ.match(raw_values["seq"]):
        raise AuditFormatError("seq %r is not a positive integer" % raw_values["seq"])
    for key in ("prev", "chain"):
        if not _HEX64.match(raw_values[key]):
            raise AuditFormatError("%s is not 64 lowercase hex digits" % key)
    fields = {}
    for key in middle:
        try:
            fields[key] = unescape_value(raw_values[key])
        except AuditFormatError as exc:
            raise AuditFormatError("field %r: %s" % (key, exc))
    try:
        run = unescape_value(raw_values["run"])
    except AuditFormatError as exc:
        raise AuditFormatError("field 'run': %s" % exc)
    return Record(event=event, timestamp=timestamp, fields=fields, raw=line, run=run,
                  seq=int(raw_values["seq"]), prev=raw_values["prev"], chain=raw_values["chain"])


# ---------------------------------------------------------------- files and locks

def platform_file(name) -> Optional[str]:
    """What a file named like the platform deploy script's is, or None."""
    match = PLATFORM_FILE_PATTERN.match(name)
    if not match:
        return None
    return "%s of the platform's deploy script (%s)" % (_PLATFORM_FILES[match.group(1) or match.group(2)],
                                                        PLATFORM_SCRIPT)


def script_name(kind, stamp) -> str:
    """The file name of the on-host script of ``kind`` (rollback, emergency)
    rendered by the run stamped ``stamp``: the one place it is made."""
    if kind not in SCRIPT_KINDS:
        raise ValueError("script kind %r: expected one of %s" % (kind, ", ".join(SCRIPT_KINDS)))
    return "nexus-%s-%s.sh" % (kind, stamp)


def script_marker(run_id) -> str:
    """The comment line every rendered script carries, so it is told from
    another tool's script whatever it is named."""
    return "%s run_id=%s" % (SCRIPT_MARKER, run_id)


def has_script_marker(data) -> bool:
    """Whether the start of a file's content carries this collection's marker."""
    return bool(data) and SCRIPT_MARKER.encode("ascii") in data[:_SCRIPT_HEAD_BYTES]


def our_script(name, data=None) -> Optional[tuple]:
    """(kind, stamp) of a script of this collection in an audit directory:
    named as it names them (also the older names without the nexus- prefix),
    or carrying its marker (``data``: content or a function returning it,
    read only when the name does not decide). None for anything else."""
    match = OUR_SCRIPT_PATTERN.match(name)
    if match:
        return match.group(1), match.group(2)
    if name.endswith(".sh") and PLATFORM_FILE_PATTERN.match(name):
        if callable(data):
            data = data()
        if has_script_marker(data):
            return "rollback", None
    return None


def newest_scripts(audit_dir) -> dict:
    """{kind: path} of this collection's newest rollback and emergency
    script in ``audit_dir`` (by the UTC stamp in the name), never another
    tool's; {} when there is none or the directory cannot be read."""
    try:
        names = os.listdir(audit_dir)
    except OSError:
        return {}
    best = {}
    for name in names:
        found = our_script(name)
        if found and found[1] and found[1] >= best.get(found[0], ("", ""))[0]:
            # At equal stamps the current name wins over the older one.
            if found[1] > best.get(found[0], ("", ""))[0] or name.startswith("nexus-"):
                best[found[0]] = (found[1], os.path.join(audit_dir, name))
    return dict((kind, path) for kind, (dummy, path) in best.items())


def foreign_reason(name, data) -> Optional[str]:
    """Why the file ``name`` of an audit directory is another tool's and not
    part of the chain; None when it is a chain file, or not a candidate at
    all. ``data``: its content (bytes, or None when it could not be read),
    or a function returning it, called only when the content decides.

    Told by content: a chain file's records carry run=, seq=, prev= and
    chain=; a file with no line carrying any of them is foreign. A file
    named as this collection names its chain files is never foreign: making
    one look foreign (dropping those fields) is reported as tampering. A
    file that had records and is made to look foreign takes them out of the
    chain, which the seq linkage (a gap) or a known head (a cut end) shows
    exactly as it shows a deleted file.
    """
    if OWN_FILE_PATTERN.match(name):
        return None
    what = platform_file(name)
    if CHAIN_FILE_PATTERN.match(name):
        if callable(data):
            data = data()
        if data is None or _CHAIN_FIELD.search(data):
            return None
        lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        return "%s: no line carries run=, seq=, prev= or chain= (%d lines, %d unchained [AUDIT] records)" % (
            what or "not written by this collection", lines, len(_UNCHAINED_AUDIT.findall(data)))
    if what and name.endswith(".sh"):
        if our_script(name, data):
            return None
        return ("%s: not ours (no '%s' line; this collection's are %s), never run by it"
                % (what, SCRIPT_MARKER, script_name("rollback", "<UTC stamp>")))
    return what


def foreign_lines(foreign) -> list:
    """How foreign files are reported (nexusctl audit verify and tail, the
    audit_chain_info module): a heading, then one line a file."""
    if not foreign:
        return []
    return (["%d file(s) not part of the chain (another tool's records, kept as they are; not tampering):"
             % len(foreign)] + ["  - %s" % (item,) for item in foreign])


_PLAIN_VALUE = re.compile(r"^[A-Za-z0-9._~:/@+,=-]+$")


def entry_line(entry) -> str:
    """One record of read_trail for a person: seq, time, event, run, fields,
    file:line. Values with anything beyond plain characters are shown
    JSON-quoted, so a hostile value can neither span lines nor send terminal
    control codes."""
    record = entry.record
    fields = " ".join("%s=%s" % (key, _shown(value)) for key, value in record.fields.items())
    return "%6d  %s UTC  %-24s run=%s  %s  (%s:%d)" % (
        record.seq, record.timestamp, record.event, _shown(record.run), fields, entry.file, entry.line)


def _shown(value):
    return value if _PLAIN_VALUE.match(value) else json.dumps(value)


def time_lines(time_problems) -> list:
    """How records out of time order are reported (nexusctl audit verify,
    the audit_chain_info module): a warning heading, then one line a record."""
    if not time_problems:
        return []
    return (["WARNING: %d record(s) dated before the record before them (a clock that went backwards, not tampering "
             "of the hash chain; %s):" % (len(time_problems), "sync the host's clock (timedatectl / chrony)")]
            + ["  - %s" % (problem,) for problem in time_problems])


def split_foreign(files: dict) -> tuple:
    """({name: content} of the chain files, [ForeignFile]) of a {name: content} mapping."""
    chain, foreign = {}, []
    for name in sorted(files):
        reason = foreign_reason(name, files[name])
        if reason is not None:
            foreign.append(ForeignFile(name, len(files[name]), reason))
        elif not PLATFORM_FILE_PATTERN.match(name) or CHAIN_FILE_PATTERN.match(name):
            chain[name] = files[name]
        # else: one of our scripts under the platform's name: neither the
        # chain's nor another tool's.
    return chain, foreign


def chain_files(audit_dir) -> list:
    """Names of the files in ``audit_dir`` that may be chain files (by
    name; foreign_reason tells by content), sorted."""
    return sorted(name for name in os.listdir(audit_dir)
                  if CHAIN_FILE_PATTERN.match(name) and os.path.isfile(os.path.join(audit_dir, name)))


def _platform_scripts(audit_dir) -> list:
    """Files named like the platform script's rollback scripts: reported by
    verify (whose they are), never verified."""
    return sorted(name for name in os.listdir(audit_dir)
                  if name.endswith(".sh") and PLATFORM_FILE_PATTERN.match(name)
                  and os.path.isfile(os.path.join(audit_dir, name)))


def ensure_audit_dir(audit_dir):
    """Create ``audit_dir`` with mode 0750 when missing (parents as usual). An
    existing directory's mode is left alone; precheck 11 reports a loose one
    and the directories above it. Written to by root, the directory itself
    must be root's alone and not a symlink (DESIGN 7a): a link another user
    planted would receive the trail and the scripts root runs, so nothing is
    written there (PermissionError naming it and the fix)."""
    if os.path.isdir(audit_dir):
        _refuse_untrusted(audit_dir)
        return
    parent = os.path.dirname(os.path.abspath(audit_dir))
    os.makedirs(parent, exist_ok=True)
    try:
        os.mkdir(audit_dir, DIR_MODE)
    except FileExistsError:
        if not os.path.isdir(audit_dir):
            raise NotADirectoryError("audit_dir %s exists and is not a directory" % audit_dir)
        return
    os.chmod(audit_dir, DIR_MODE)   # mkdir's mode is filtered by the umask


def _refuse_untrusted(audit_dir):
    if os.geteuid() != 0:
        return   # only root's writes are at stake; another user's own trail is theirs
    found = entry_problem(audit_dir, os.lstat(audit_dir))
    if found:
        raise PermissionError(errno.EPERM, "audit directory %s is %s: not trusted, so nothing is written there (%s)"
                              % (audit_dir, found[1], found[2]))


def _open_create(path, flags):
    """Open ``path``, creating it with mode 0640 whatever the umask. Never
    follows a symlink: a planted link must not redirect a root write."""
    flags |= _O_NOFOLLOW | _O_CLOEXEC
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return os.open(path, flags)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    fsync_dir(os.path.dirname(os.path.abspath(path)))
    return fd


class _DirLock:
    """flock on <dir>/.audit.lock: exclusive for writers; shared for readers,
    and only if the lock file exists (a fetched copy has none, or one we may
    not open)."""

    def __init__(self, audit_dir, exclusive):
        self.path = os.path.join(audit_dir, LOCK_FILE)
        self.exclusive = exclusive
        self.fd = None

    def __enter__(self):
        if self.exclusive:
            self.fd = _open_create(self.path, os.O_RDWR)
        else:
            try:
                self.fd = os.open(self.path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC)
            except OSError:
                return self
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH)
        except BaseException:
            os.close(self.fd)
            self.fd = None
            raise
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)   # closing releases the flock
            self.fd = None


def _read_lines(path) -> list:
    with open(path, "rb") as handle:
        return _split_lines(handle.read())


def _split_lines(data) -> list:
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def _last_record(path) -> Optional[Record]:
    """The record with the highest seq in one file: normally its last line,
    read from the end; the whole file only when that line is not a record."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - MAX_LINE_BYTES - 2))
        tail = handle.read()
    lines = [line for line in tail.split(b"\n") if line]
    if lines:
        try:
            return parse_record(lines[-1])
        except AuditFormatError:
            pass
    best = None
    for line in _read_lines(path):
        try:
            record = parse_record(line)
        except AuditFormatError:
            continue
        if best is None or record.seq > best.seq:
            best = record
    return best


def _read_head_cache(audit_dir) -> Optional[dict]:
    """The head cache if it is well-formed, else None."""
    try:
        with open(os.path.join(audit_dir, HEAD_CACHE), "r", encoding="utf-8") as handle:
            head = json.load(handle)
        return validate_head(head, HEAD_CACHE)
    except (OSError, ValueError):
        return None


def validate_head(head, source="head") -> dict:
    """{seq, chain, ...} checked: seq an int >= 0, chain 64 hex digits.
    Raises ValueError naming ``source``."""
    if not isinstance(head, dict):
        raise ValueError("%s: expected a JSON object with seq and chain" % source)
    seq, chain = head.get("seq"), head.get("chain")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValueError("%s: seq must be an integer >= 0, got %r" % (source, seq))
    if not isinstance(chain, str) or not _HEX64.match(chain):
        raise ValueError("%s: chain must be 64 lowercase hex digits, got %r" % (source, chain))
    return head


def load_exported_head(path) -> dict:
    """Read a head file as written from export_head(). Raises ValueError."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            head = json.load(handle)
    except ValueError as exc:
        raise ValueError("%s: not valid JSON: %s" % (path, exc))
    return validate_head(head, path)


def _current_head(audit_dir) -> tuple:
    """(seq, chain) to append after.

    The record with the highest seq is found from the last record of every
    chain file (cheap), not from the cache alone: a crash between writing a
    record to a new file and updating the cache leaves a cache that still
    agrees with the file it names. The cache wins only when it is ahead of
    every file, which means records were removed: continuing from it keeps
    that gap visible to verify instead of reusing the removed seqs.
    """
    seq, chain = 0, ZERO_CHAIN
    for name in chain_files(audit_dir):
        record = _last_record(os.path.join(audit_dir, name))
        if record is not None and record.seq > seq:
            seq, chain = record.seq, record.chain
    cache = _read_head_cache(audit_dir)
    if cache is not None and cache["seq"] > seq:
        return cache["seq"], cache["chain"]
    return seq, chain


def _line_state(fd) -> tuple:
    """(lines in the file, whether it ends mid-line). A file that ends mid-line
    holds a write cut short; the next record starts on a fresh line."""
    size = os.fstat(fd).st_size
    count, offset, last = 0, 0, b"\n"
    while offset < size:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            break
        count += chunk.count(b"\n")
        offset += len(chunk)
        last = chunk[-1:]
    partial = last != b"\n"
    return count + (1 if partial else 0), partial


# ---------------------------------------------------------------- writing

class AuditLog:
    """Appends records for one run to one chain file of an audit directory."""

    def __init__(self, audit_dir: str, run_id: str, filename: str, clock=None):
        if not isinstance(filename, str) or not _WRITABLE_NAME.match(filename):
            raise AuditFormatError("audit file name %r: expected deployment-, rollback- or activation-<name>.log "
                                   "of [A-Za-z0-9._-], no directory" % (filename,))
        if not isinstance(run_id, str) or not run_id:
            raise AuditFormatError("run_id %r: expected a non-empty string" % (run_id,))
        escape_value(run_id)
        self.audit_dir = audit_dir
        self.run_id = run_id
        self.filename = filename
        self.path = os.path.join(audit_dir, filename)
        self._clock = clock or time.time

    def record(self, event: str, **fields) -> dict:
        """Append one record; returns {seq, chain, line, file} (line = line number)."""
        return self.records([(event, fields)])[0]

    def records(self, events: list) -> list:
        """Append several (event, fields) records under one lock hold, one
        write and fsync per record. Nothing is written if any record is
        invalid."""
        for event, fields in events:
            _check_event(event)
            if not isinstance(fields, dict):
                raise AuditFormatError("audit event %s: fields must be a mapping, got %s"
                                       % (event, type(fields).__name__))
            _check_fields(event, fields)
        if not events:
            return []
        ensure_audit_dir(self.audit_dir)
        with _DirLock(self.audit_dir, exclusive=True):
            seq, prev = _current_head(self.audit_dir)
            when = self._clock()
            lines = []
            for event, fields in events:
                seq += 1
                line, prev = format_record(event, self.run_id, seq, fields, prev, when)
                if len(line) + 2 > MAX_LINE_BYTES:
                    raise AuditFormatError("audit event %s: record is %d bytes, over the limit of %d"
                                           % (event, len(line), MAX_LINE_BYTES - 2))
                lines.append((seq, prev, line))
            written = []
            try:
                fd = _open_create(self.path, os.O_RDWR | os.O_APPEND)
                try:
                    count, partial = _line_state(fd)
                    for seq, chain, line in lines:
                        data = ("\n" if partial else "") + line + "\n"
                        count += 1
                        partial = False
                        _write_once(fd, data.encode("ascii"), self.path)
                        os.fsync(fd)
                        written.append({"seq": seq, "chain": chain, "line": count, "file": self.filename})
                finally:
                    os.close(fd)
            except OSError as exc:
                # A write error names no file (a full disk shows up in write(2)).
                if exc.filename is None:
                    exc.filename = self.path
                raise
            last = written[-1]
            try:
                write_atomic(os.path.join(self.audit_dir, HEAD_CACHE),
                             json.dumps({"seq": last["seq"], "chain": last["chain"], "file": last["file"],
                                         "line": last["line"]}, sort_keys=True) + "\n", mode=FILE_MODE)
            except OSError:
                # The records are written. A cache left behind them is
                # ignored (_current_head reads the files' last records);
                # failing here would make the caller believe they were not.
                pass
        return written


def _write_once(fd, data, path):
    """One write(2) per record, so a record is never interleaved with another
    writer's bytes. A short write (a filesystem that fills up mid-record) is
    taken back: the file is cut to where the record began, so no partial
    line breaks the chain, and the write fails as the full disk it is."""
    start = os.fstat(fd).st_size
    done = os.write(fd, data)
    if done != len(data):
        os.ftruncate(fd, start)
        raise OSError(errno.ENOSPC, "No space left on device (a short write, %d of %d bytes, taken back)"
                      % (done, len(data)), path)


# ---------------------------------------------------------------- reading and verifying

def _read_candidates(audit_dir) -> tuple:
    """({name: content} of the files that may be chain files, head cache),
    read under the shared lock."""
    with _DirLock(audit_dir, exclusive=False):
        files = {}
        for name in chain_files(audit_dir) + _platform_scripts(audit_dir):
            with open(os.path.join(audit_dir, name), "rb") as handle:
                files[name] = handle.read()
        cache = _read_head_cache(audit_dir)
    return files, cache


def read_trail(audit_dir) -> tuple:
    """([RecordAt] sorted by seq then file, [Problem] for lines that are not
    records) from the chain files of ``audit_dir``; foreign files (see
    foreign_files) are left out."""
    chain, dummy = split_foreign(_read_candidates(audit_dir)[0])
    entries, problems = [], []
    for name in sorted(chain):
        for number, raw in enumerate(_split_lines(chain[name]), 1):
            try:
                entries.append(RecordAt(name, number, parse_record(raw)))
            except AuditFormatError as exc:
                problems.append(_not_a_record(name, number, exc))
    entries.sort(key=lambda e: (e.record.seq, e.file, e.line))
    return entries, problems


def newest_record(audit_dir) -> Optional[RecordAt]:
    """The latest dated of the chain files' last records (line None), or
    None when the trail is empty or missing: what the host's clock must not
    be earlier than. Cheap: one file tail each, as _current_head reads."""
    newest = None
    try:
        names = chain_files(audit_dir)
    except FileNotFoundError:
        return None
    for name in names:
        try:
            record = _last_record(os.path.join(audit_dir, name))
        except OSError:
            continue
        if record is not None and (newest is None or record.timestamp > newest.record.timestamp):
            newest = RecordAt(name, None, record)
    return newest


def time_order_problems(items) -> list:
    """[Problem] of kind time_backwards for ``items`` (seq, timestamp,
    locate) in seq order, ``locate()`` giving (file, line, event) of that
    record when it is named: each record dated more than
    RECORD_TIME_TOLERANCE seconds before the record before it. Timestamps
    compare as text (fixed-width UTC); epochs only for the few that go back."""
    found, prev = [], None
    for seq, stamp, locate in items:
        if prev is not None and stamp < prev[1]:
            gap = utc_time.audit_epoch(_text(prev[1])) - utc_time.audit_epoch(_text(stamp))
            if gap > utc_time.RECORD_TIME_TOLERANCE:
                dated, previous = _text(stamp), _text(prev[1])
                name, number, event = locate()
                prev_name, prev_number, dummy = prev[2]()
                found.append(Problem(name, number, (
                    "file %s line %d: seq %d (%s) is dated %s, %s before seq %d at file %s line %d (%s): the clock "
                    "that wrote it went backwards (not tampering of the chain)"
                    % (name, number, seq, event, dated, utc_time.span(gap), prev[0], prev_name, prev_number,
                       previous)), "time_backwards"))
        prev = (seq, stamp, locate)
    return found


def _text(stamp):
    return stamp.decode("ascii") if isinstance(stamp, bytes) else stamp


def foreign_files(audit_dir) -> list:
    """[ForeignFile] of ``audit_dir``: files named like chain files that are
    another tool's (the platform deploy script's console logs)."""
    return split_foreign(_read_candidates(audit_dir)[0])[1]


def _not_a_record(name, number, exc):
    return Problem(name, number, "file %s line %d: not an audit record (%s)" % (name, number, exc), "not_a_record")


def verify_dir(audit_dir, head: Optional[dict] = None) -> VerifyResult:
    """Verify every chain file of ``audit_dir`` (a host's directory or a
    fetched copy). ``head`` is an exported {seq, chain}; without it a removed
    last record is still found when the head cache (.audit-head.json) is
    present. Raises FileNotFoundError when the directory does not exist."""
    if not os.path.isdir(audit_dir):
        raise FileNotFoundError("audit dir %s does not exist or is not a directory" % audit_dir)
    files, cache = _read_candidates(audit_dir)
    return verify_files(files, head=head, head_cache=cache)


# An intact trail is checked by its bytes, without building a Record per
# line: each line's frame (the record's start, its seq, prev and chain at
# their fixed places at the end), its own hash (which covers every field in
# between), its seq and its link to the record before.
_INTACT_START = re.compile(rb"\[AUDIT\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z0-9_]+ run=[^ ]++ seq=([1-9][0-9]*+) ")


def _verify_intact(files, head, head_cache):
    """The VerifyResult of a trail with nothing wrong in it, fast (a million
    records in a few seconds), or None as soon as anything is off: then the
    full check in verify_files finds and names the first wrong record.
    ``files``: chain files only."""
    sha256, start = hashlib.sha256, _INTACT_START.match
    total = sum(data.count(b"\n") + 1 for data in files.values())
    chains, seen = bytearray(64 * (total + 1)), bytearray(total + 1)
    stamps = bytearray(19 * (total + 1))     # each record's "YYYY-MM-DD HH:MM:SS", by seq
    jumps = []          # (seq, prev) of records not linked to the line before
    top = (0, None, 0)
    for name in sorted(files):
        last, last_chain = 0, None
        for number, line in enumerate(_split_lines(files[name]), 1):
            match = start(line)
            if match is None or line[-71:-64] != b" chain=" or line[-141:-135] != b" prev=":
                return None
            # chain_hex equals a hexdigest below; prev_hex is held to the
            # chain before it (or to the zero chain) by the links.
            prev_hex, chain_hex = line[-135:-71], line[-64:]
            if match.end() > len(line) - 140:
                return None
            seq = int(match.group(1))
            if seq <= last or seq > total or seen[seq]:
                return None
            if sha256(prev_hex + b"\n" + line[:-71]).hexdigest() != chain_hex.decode():
                return None
            if seq != last + 1 or prev_hex != last_chain:
                jumps.append((seq, prev_hex))
            seen[seq] = 1
            chains[64 * seq:64 * seq + 64] = chain_hex
            stamps[19 * seq:19 * seq + 19] = line[8:27]
            last, last_chain = seq, chain_hex
            if seq > top[0]:
                top = (seq, name, number)
    records = top[0]
    if seen.count(1) != records:
        return None             # a seq missing
    for seq, prev_hex in jumps:
        if prev_hex != (chains[64 * (seq - 1):64 * seq] if seq > 1 else ZERO_CHAIN.encode()):
            return None
    for given in (head, head_cache):
        if given is not None and (given["seq"] > records or (
                given["seq"] > 0 and chains[64 * given["seq"]:64 * given["seq"] + 64] != given["chain"].encode())):
            return None
    if not records:
        return VerifyResult(ok=True, records=0, head={"seq": 0, "chain": ZERO_CHAIN, "file": None, "line": None},
                            problems=[], foreign=())
    where = {}

    def locate(seq):
        # Only for records that are named: the trail is read again once.
        if not where:
            for name in sorted(files):
                for number, line in enumerate(_split_lines(files[name]), 1):
                    record = parse_record(line)
                    where[record.seq] = (name, number, record.event)
        return where[seq]

    times = time_order_problems((seq, bytes(stamps[19 * seq:19 * seq + 19]), lambda seq=seq: locate(seq))
                                for seq in range(1, records + 1))
    return VerifyResult(ok=True, records=records, problems=[], foreign=(), time_problems=tuple(times), head={
        "seq": records, "chain": chains[64 * records:64 * records + 64].decode(), "file": top[1], "line": top[2]})


def verify_files(files: dict, head: Optional[dict] = None, head_cache: Optional[dict] = None) -> VerifyResult:
    """Verify files given as {file name: content bytes}. Foreign files (see
    foreign_reason) are listed in the result's ``foreign``, not verified."""
    if head is not None:
        validate_head(head, "exported head")
    files, foreign = split_foreign(files)
    intact = _verify_intact(files, head, head_cache)
    if intact is not None:
        return intact._replace(foreign=tuple(foreign))
    found = []          # (sort key, Problem)
    entries = []        # (record, file index, line number, file name)
    for index, name in enumerate(sorted(files)):
        garbage, last, first_seq = [], None, None
        for number, raw in enumerate(_split_lines(files[name]), 1):
            try:
                record = parse_record(raw)
            except AuditFormatError as exc:
                garbage.append((last.seq if last else None, _not_a_record(name, number, exc)))
                continue
            if last is not None and record.seq <= last.seq:
                found.append(((record.seq, 0), Problem(
                    name, number, "file %s line %d: record out of order (seq %d after seq %d)"
                    % (name, number, record.seq, last.seq), "out_of_order")))
            last = record
            if first_seq is None:
                first_seq = record.seq
            entries.append((record, index, number, name))
        # A bad line sorts after the record before it in its file; at the
        # start of a file, just before that file's first record.
        for anchor, problem in garbage:
            found.append(((anchor + 0.5 if anchor is not None else (first_seq or 1) - 0.5, 1), problem))

    entries.sort(key=lambda e: (e[0].seq, e[1], e[2]))
    expected, prev_chain, prev_entry = 1, ZERO_CHAIN, None
    by_seq = {}
    i = 0
    while i < len(entries):
        seq = entries[i][0].seq
        group = []
        while i < len(entries) and entries[i][0].seq == seq:
            group.append(entries[i])
            i += 1
        linked = seq == expected
        if seq > expected:
            record, dummy, number, name = group[0]
            missing = "seq %d" % expected if seq - expected == 1 else "seq %d to %d" % (expected, seq - 1)
            found.append(((seq - 0.25, 0), Problem(
                name, number, "record(s) removed before file %s line %d (%s missing)" % (name, number, missing),
                "removed")))

        def sound(entry):
            return entry[0].chain_ok() and (not linked or entry[0].prev == prev_chain)

        real = next((entry for entry in group if sound(entry)), group[0])
        for entry in group:
            if entry is real:
                continue
            found.append(((seq, 0), Problem(
                entry[3], entry[2], "file %s line %d: record inserted (duplicate seq %d, also at file %s line %d)"
                % (entry[3], entry[2], seq, real[3], real[2]), "inserted")))
        record, dummy, number, name = real
        if not record.chain_ok():
            found.append(((seq, 0), Problem(
                name, number, "file %s line %d: record edited (chain mismatch)" % (name, number), "edited")))
        elif linked and record.prev != prev_chain:
            if prev_entry is None:
                why = "prev of seq 1 is not %s" % ("0" * 8 + "...")
            else:
                why = "prev does not match the chain of seq %d at file %s line %d" % (
                    prev_entry[0].seq, prev_entry[3], prev_entry[2])
            found.append(((seq, 0), Problem(
                name, number, "file %s line %d: record edited (chain mismatch: %s)" % (name, number, why),
                "edited")))
        by_seq[seq] = real
        prev_chain, prev_entry, expected = record.chain, real, seq + 1

    trail_seq = prev_entry[0].seq if prev_entry else 0
    final = float("inf")
    for label, given in (("exported head", head), ("head cache %s" % HEAD_CACHE, head_cache)):
        if given is None:
            continue
        if given["seq"] > trail_seq:
            found.append(((final, 0), Problem(
                None, None, "truncated: trail ends at seq %d but %s is seq %d" % (trail_seq, label, given["seq"]),
                "truncated")))
        elif given["seq"] > 0:
            entry = by_seq.get(given["seq"])
            if entry is None:
                found.append(((final, 0), Problem(
                    None, None, "head mismatch: %s is seq %d, which is missing from the trail"
                    % (label, given["seq"]), "head_mismatch")))
            elif entry[0].chain != given["chain"]:
                found.append(((final, 0), Problem(
                    entry[3], entry[2], "head mismatch: seq %d at file %s line %d has chain %s, %s has %s"
                    % (given["seq"], entry[3], entry[2], entry[0].chain[:16], label, given["chain"][:16]),
                    "head_mismatch")))

    found.sort(key=lambda item: item[0])
    problems = [problem for dummy, problem in found]
    if prev_entry is None:
        head_out = {"seq": 0, "chain": ZERO_CHAIN, "file": None, "line": None}
    else:
        head_out = {"seq": prev_entry[0].seq, "chain": prev_entry[0].chain, "file": prev_entry[3],
                    "line": prev_entry[2]}
    times = time_order_problems((seq, entry[0].timestamp, lambda entry=entry: (entry[3], entry[2], entry[0].event))
                                for seq, entry in sorted(by_seq.items()))
    return VerifyResult(ok=not problems, records=len(entries), head=head_out, problems=problems,
                        foreign=tuple(foreign), time_problems=tuple(times))


def export_head(audit_dir) -> dict:
    """{seq, chain, file, line, records}: the trail's head as found by reading
    every chain file (not the cache), for copying to the controller."""
    result = verify_dir(audit_dir)
    head = dict(result.head)
    head["records"] = result.records
    return head
