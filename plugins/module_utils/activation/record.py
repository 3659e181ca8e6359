# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The host's record of activations: the state file
``activation-state.json`` in the audit directory, each entry cross-checked
against its audit record, and the summaries of recent runs read from the
audit trail. The gates believe only what is recorded here.

Standard library only: runs on the managed host (modules and the on-host
emergency script).
"""

from __future__ import annotations

import json
import os
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, flag_store, run_audit, utc_time
from ansible_collections.nexus_cos.launch.plugins.module_utils import activation
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import facts, ledger, runs as activation_runs
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import write_atomic

STATE_MODE = 0o640
# This collection's chain files; the platform deploy script's logs in the
# same directory are not runs of ours.
RUN_FILE = audit_log.OWN_FILE_PATTERN


def state_path(audit_dir, state_file=None):
    return state_file or os.path.join(audit_dir, activation.STATE_FILE)


def records(path):
    """[(event, fields, epoch, run, seq, chain, chain_ok)] of a chain file;
    lines that are not records are skipped."""
    out = []
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return out
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            rec = audit_log.parse_record(line)
        except audit_log.AuditFormatError:
            continue
        out.append((rec.event, rec.fields, rec.epoch, rec.run, rec.seq, rec.chain, rec.chain_ok()))
    return out


def read_runs(audit_dir, limit):
    """Summaries of the runs in the newest ``limit`` chain files of each
    kind, newest first: one per run id and file (a run writes its records to
    its own chain file; several plays of one ansible-playbook invocation may
    share a run id but not a file)."""
    try:
        names = [n for n in os.listdir(audit_dir) if RUN_FILE.match(n)]
    except OSError:
        return []
    names.sort(key=lambda n: (RUN_FILE.match(n).group(2), n), reverse=True)
    # The newest files of each kind: many activation runs must not push the
    # prepare run the gates look for out of the window.
    kept = []
    for kind in ("deployment", "activation", "rollback"):
        kept.extend([n for n in names if n.startswith(kind + "-")][:limit])
    runs = []
    for name in kept:
        by_run, order = {}, []
        for event, fields, epoch, run, seq, dummy, dummy in records(os.path.join(audit_dir, name)):
            if run not in by_run:
                by_run[run] = []
                order.append(run)
            by_run[run].append((seq, event, fields, epoch, run))
        for run in order:
            items = sorted(by_run[run], key=lambda r: r[0])
            summary = activation_runs.summarize_run([(e, f, t, r) for dummy, e, f, t, r in items])
            summary.update(kind=RUN_FILE.match(name).group(1), file=name, first_seq=items[0][0])
            runs.append(summary)
    runs.sort(key=lambda r: r["first_seq"], reverse=True)
    return runs


def read_state(state_file):
    """The state document, {format, activations}; empty when absent.
    Raises ValueError naming the file when it cannot be used."""
    try:
        with open(state_file, "r", encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        return {"format": activation.STATE_FORMAT, "activations": []}
    except (OSError, ValueError) as exc:
        raise ValueError("%s: cannot read the activation state (%s); expected JSON {format, activations}. "
                         "Move it aside to start a new one: the audit trail keeps every activation"
                         % (state_file, exc))
    if not isinstance(document, dict) or not isinstance(document.get("activations"), list):
        raise ValueError("%s: expected JSON {format, activations: [...]}; move it aside to start a new one"
                         % state_file)
    return document


def verify_entries(entries, audit_dir):
    """Each entry with audit_verified / audit_problem from its audit record."""
    cache = {}
    out = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        entry = dict(entry)
        name = entry.get("audit_file") or ""
        problem = None
        if not run_audit.FILE_NAME.match(name):
            problem = "audit_file %r is not an audit chain file name" % name
        else:
            if name not in cache:
                cache[name] = dict((r[4], r) for r in records(os.path.join(audit_dir, name)))
            record = cache[name].get(entry.get("audit_seq"))
            if record is None:
                problem = "no record seq %s in %s" % (entry.get("audit_seq"), name)
            else:
                event, fields, dummy, run, dummy, chain, chain_ok = record
                problem = ledger.check_entry_against_record(entry, fields, event, run, chain_ok)
                if problem is None and chain != entry.get("audit_chain"):
                    problem = "chain hash of record seq %s in %s differs from the one recorded" % (
                        entry.get("audit_seq"), name)
        entry["audit_verified"] = problem is None
        entry["audit_problem"] = problem
        out.append(entry)
    return out


def append(state_file, entry, log, extra_events=()):
    """Record an activation: its audit record first, then the entry (with
    the record's seq and chain) in the state file, written atomically under
    the state file's lock. Returns the records written."""
    audit_log.ensure_audit_dir(os.path.dirname(state_file))
    with flag_store.file_lock(state_file, lock_path=state_file + ".lock"):
        # Read first: a state file that cannot be extended stops the run
        # before its audit record is written.
        state = read_state(state_file)
        written = log.records([(entry["audit_event"], ledger.audit_fields(entry))] + list(extra_events))
        # The host's clock, not the gate's (a test clock may move that):
        # what a rollback compares with the time its snapshot was taken.
        entry.update(audit_seq=written[0]["seq"], audit_chain=written[0]["chain"], recorded_epoch=time.time())
        state["format"] = activation.STATE_FORMAT
        state["activations"].append(entry)
        write_atomic(state_file, json.dumps(state, indent=2, sort_keys=True) + "\n", mode=STATE_MODE)
    return written


# ---------------------------------------------------------------- undone by a rollback

UNDONE_EVENT = "ACTIVATION_UNDONE"


def recorded_after(entry, taken_epoch, snapshot_run):
    """Whether ``entry`` was recorded after a snapshot taken at
    ``taken_epoch`` by run ``snapshot_run``: the snapshot's own run always
    is. Entries of older versions carry no ``recorded_epoch``: their run's
    stamp stands in (a run records after it starts)."""
    if entry.get("run_id") == snapshot_run:
        return True
    at = entry.get("recorded_epoch")
    if isinstance(at, bool) or not isinstance(at, (int, float)):
        try:
            at = utc_time.parse_stamp(str(entry.get("run_id") or "")[:16])
        except ValueError:
            return False
    return taken_epoch is not None and at >= taken_epoch


def snapshot_taken_epoch(manifest):
    """When a snapshot was taken (epoch seconds), or None."""
    at = manifest.get("created_epoch")
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        return at
    try:
        return utc_time.parse_iso(str(manifest.get("created") or "")).timestamp()
    except ValueError:
        return None


def undo_entries(state_file, manifest, by_run, log=None, clock=None):
    """After a rollback restored the snapshot ``manifest`` (the files are
    now as it has them), mark undone every recorded activation it took
    away: recorded after the snapshot was taken, and its change no longer
    holds in the restored files. Returns the entries marked.

    Why marks, and not "an entry counts while the files equal its own
    after-state": later steps, the launch and anyone's unrelated PF edit
    change those files while the activation stays in effect, so that rule
    would drop entries that count. And the flags alone cannot tell a
    recorded activation from the same change re-applied by a run that never
    recorded it (its record step killed): once a rollback has undone an
    entry, only a new record puts that step back on record, and the gates
    (activation.ledger.latest_entries) skip undone entries. An entry whose change
    the restore left in place (a run that changed nothing, its snapshot
    restored) is not undone: it still tells the truth.

    Each mark is audited first (``ACTIVATION_UNDONE``, in ``log``), then
    written to the state file under its lock, atomically."""
    clock = clock or time.time
    if not os.path.exists(state_file):
        return []
    taken = snapshot_taken_epoch(manifest)
    files = [item.get("path") for item in manifest.get("files") or [] if isinstance(item, dict)]
    pf_dirs = [os.path.dirname(p) for p in files if p and os.path.basename(p) in activation.PF_FILES]
    store_path = manifest.get("flag_store")
    with flag_store.file_lock(state_file, lock_path=state_file + ".lock"):
        state = read_state(state_file)
        candidates = [entry for entry in state["activations"] if isinstance(entry, dict) and not entry.get("undone")
                      and recorded_after(entry, taken, manifest.get("run_id"))]
        if not candidates:
            return []
        found = {"flag_store": facts.read_flag_store(store_path) if store_path else {},
                 "pfs": facts.read_pfs(pf_dirs[0]) if pf_dirs else {}}
        try:
            store, pfs = facts.facts_documents(found)
        except activation.ActivationError:
            store, pfs = None, {}
        undone = [entry for entry in candidates if store is None or not ledger.entry_in_effect(entry, store, pfs)]
        if not undone:
            return []
        now = clock()
        stamp = manifest.get("stamp") or "?"
        written = []
        if log is not None:
            written = log.records([(UNDONE_EVENT, {"key": entry.get("key", "?"),
                                                   "activation_run": entry.get("run_id") or "?",
                                                   "applied_at": entry.get("applied_at", "?"),
                                                   "snapshot": stamp}) for entry in undone])
        for index, entry in enumerate(undone):
            entry["undone"] = {"by_run": by_run, "at": int(now), "at_utc": utc_time.iso_utc(now), "snapshot": stamp}
            if written:
                entry["undone"].update(audit_file=written[index]["file"], audit_seq=written[index]["seq"])
        write_atomic(state_file, json.dumps(state, indent=2, sort_keys=True) + "\n", mode=STATE_MODE)
    return undone
