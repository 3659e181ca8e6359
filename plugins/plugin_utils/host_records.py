# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Records decided on the controller, appended to the run's audit chain on
the host by module audit_record, for the actions that must never stop the
run because of them (alert, launch_guard): a record that cannot be written
is reported, not raised."""

from __future__ import annotations

AUDIT_ARGS = ("audit_dir", "audit_file", "run_id")


def write(execute, where, events):
    """(audit_head, error) after appending ``events`` ([{event, fields}]) to
    the chain ``where`` names ({audit_dir, audit_file, run_id}).
    ``execute(module_name, module_args)`` runs a module on the host. No
    audit file, or no events: nothing is written."""
    args = dict((k, where[k]) for k in AUDIT_ARGS if where.get(k))
    if not events or not args.get("audit_file"):
        return None, None
    args["audit_events"] = events
    outcome = execute("nexus_cos.launch.audit_record", args)
    if outcome.get("unreachable") or outcome.get("failed"):
        return None, "records %s not written to %s: %s" % (
            ", ".join(e["event"] for e in events), args["audit_file"], outcome.get("msg") or "no answer")
    return outcome.get("audit_head"), None
