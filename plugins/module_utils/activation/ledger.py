# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The recorded activations as the gates read them: which entries count
(their audit record matched, no rollback undid them), whether the change an
entry stands for still holds, and the entry and audit fields of a new one."""

from __future__ import annotations

import re

from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import APPLIED_EVENT, EMERGENCY_EVENT, ActivationError
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation.plan import differences, emergency_plan, launch_plan, marketplace_plan
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import format_utc, iso_utc


def latest_entries(entries):
    """{key: newest entry} over the entries that count: their audit record
    matched, and no rollback has undone them (``undone``, see
    record.undo_entries)."""
    out = {}
    for entry in entries or []:
        if not isinstance(entry, dict) or not entry.get("audit_verified") or entry.get("undone"):
            continue
        key = entry.get("key")
        if key not in out or entry.get("applied_at", 0) >= out[key].get("applied_at", 0):
            out[key] = entry
    return out


def newest_entry(entries, key):
    """Newest entry for ``key`` whether or not its audit record matched."""
    found = None
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("key") == key:
            if found is None or entry.get("applied_at", 0) >= found.get("applied_at", 0):
                found = entry
    return found


def plan_for_key(key, store):
    """The plan a recorded entry's ``key`` names (marketplace_step_N,
    launch_global, launch_soft, emergency), or None for a key of no plan."""
    match = re.match(r"^marketplace_step_([1-4])$", str(key or ""))
    if match:
        return marketplace_plan(int(match.group(1)), store)
    if key in ("launch_global", "launch_soft"):
        return launch_plan(key[len("launch_"):])
    if key == "emergency":
        return emergency_plan()
    return None


def entry_in_effect(entry, store, pfs):
    """Whether the change a recorded entry stands for holds in these files
    (its plan's flags and PF values). A plan that cannot be checked (a PF
    file or key missing) does not hold."""
    plan = plan_for_key(entry.get("key"), store)
    if plan is None:
        return False
    try:
        return not differences(plan, store, pfs)
    except ActivationError:
        return False


def undone_text(entry):
    """'undone by rollback run R on <time> (snapshot S)' for an undone entry."""
    undone = entry.get("undone") or {}
    at = undone.get("at")
    return "undone by rollback run %s%s%s" % (
        undone.get("by_run", "?"), " on %s" % format_utc(at) if isinstance(at, (int, float)) else "",
        " (snapshot %s)" % undone["snapshot"] if undone.get("snapshot") else "")


def check_entry_against_record(entry, record_fields, record_event, record_run, record_chain_ok):
    """None when the audit record matches the state entry, else what differs.
    ``record_fields`` are the record's fields (strings)."""
    problems = []
    if record_event != entry.get("audit_event", APPLIED_EVENT):
        problems.append("event is %s, expected %s" % (record_event, entry.get("audit_event", APPLIED_EVENT)))
    if record_run != entry.get("run_id"):
        problems.append("run is %s, expected %s" % (record_run, entry.get("run_id")))
    for field in ("key", "applied_at"):
        if str(record_fields.get(field)) != str(entry.get(field)):
            problems.append("%s is %s, expected %s" % (field, record_fields.get(field), entry.get(field)))
    if not record_chain_ok:
        problems.append("its chain hash does not match its content")
    return "; ".join(problems) or None


def new_entry(plan_key, now, run_id, audit_file, forced_reason="", clock_override=False, details=None):
    """The state file entry of an activation (audit seq and chain are added
    once the record is written)."""
    entry = {"key": plan_key, "applied_at": int(now), "applied_at_utc": iso_utc(now), "run_id": run_id,
             "forced_reason": forced_reason or "", "clock_override": bool(clock_override),
             "audit_file": audit_file,
             "audit_event": EMERGENCY_EVENT if plan_key == "emergency" else APPLIED_EVENT}
    entry.update(details or {})
    return entry


def audit_fields(entry):
    """Fields of the entry's audit record (plain values, no secrets)."""
    fields = {"key": entry["key"], "applied_at": entry["applied_at"], "applied_at_utc": entry["applied_at_utc"],
              "forced": bool(entry.get("forced_reason")), "clock_override": entry.get("clock_override", False)}
    for name in ("approvers", "waived", "reason", "reason_truncated", "reason_bytes", "from_mode", "pf_skipped"):
        if entry.get(name):
            fields[name] = entry[name]
    return fields
