# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""What ``nexusctl status`` shows, from the host's facts: the phase and
step in effect, the next gate, the launch and the emergency switch on
record, what the gateway serves, the last runs and the problems seen."""

from __future__ import annotations

import time

from ansible_collections.nexus_cos.launch.plugins.module_utils import gateway
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import DAY, DEFAULT_PREPARE_MAX_AGE_HOURS, DEFAULT_WAIT_DAYS, STEPS, ActivationError
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation.facts import facts_documents
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation.ledger import latest_entries, newest_entry
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation.plan import differences, emergency_plan, flag_change, gateway_state, marketplace_plan
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation.runs import check_prepare_run, dead_runs_left
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import format_utc


def status_summary(facts, now=None, wait_days=DEFAULT_WAIT_DAYS):
    """What `nexusctl status` shows: {phase, step, access_mode, gates,
    flags, last_runs}, from the host's facts."""
    now = now if now is not None else facts.get("now", time.time())
    out = {"access_mode": None, "marketplace_phase": None, "step": 0, "step_applied_at": None, "gates": [],
           "flags": {}, "last_runs": [], "emergency": None, "launch": None, "problems": [], "gateway": None}
    try:
        store, pfs = facts_documents(facts)
    except ActivationError as exc:
        out["problems"].append(str(exc))
        store, pfs = None, {}
    _gateway_status(out, facts.get("gateway"), store)
    entries = facts.get("activations") or []
    for entry in entries:
        if isinstance(entry, dict) and not entry.get("audit_verified"):
            out["problems"].append("state entry %s of run %s does not match the audit trail: %s"
                                   % (entry.get("key"), entry.get("run_id"), entry.get("audit_problem")))
    latest = latest_entries(entries)
    if store is not None:
        state = gateway_state(store)
        out["access_mode"] = state["access_mode"]
        out["marketplace_phase"] = state["marketplace_phase"]
        out["flags"] = store.effective_all()
        for step in STEPS:
            key = "marketplace_step_%d" % step
            if key not in latest:
                break
            try:
                holds = not differences(marketplace_plan(step, store, cumulative=True), store, pfs)
            except ActivationError:
                holds = False
            if not holds:
                break
            out["step"] = step
            out["step_applied_at"] = latest[key]["applied_at"]
        nxt = out["step"] + 1
        if nxt in STEPS:
            if nxt == 1:
                refusal, dummy = check_prepare_run(facts.get("runs"), now, DEFAULT_PREPARE_MAX_AGE_HOURS)
                out["gates"].append({"step": 1, "opens": None,
                                     "state": "open" if refusal is None else "needs a passing prepare run"})
            elif nxt in (2, 3):
                opens = out["step_applied_at"] + wait_days * DAY
                out["gates"].append({"step": nxt, "opens": opens,
                                     "state": "open" if now >= opens else "opens %s" % format_utc(opens)})
            else:
                out["gates"].append({"step": 4, "opens": None, "state": "open"})
    for key in ("launch_global", "launch_soft"):
        if key in latest and (out["launch"] is None or latest[key]["applied_at"] > out["launch"]["applied_at"]):
            out["launch"] = dict(latest[key])
    # in_effect None: not known (the flag store or a PF file could not be read).
    if out["launch"] is not None:
        mode = out["launch"]["key"].replace("launch_", "")
        out["launch"]["in_effect"] = None if store is None else \
            out["access_mode"] == ("public_full" if mode == "global" else "public_soft")
    launch_key = {"public_full": "launch_global", "public_soft": "launch_soft"}.get(out["access_mode"])
    if launch_key and newest_entry(entries, launch_key) is None:
        mode = launch_key.replace("launch_", "")
        out["problems"].append(
            "the access mode is %s but no %s launch is recorded: the flags were switched by hand or the "
            "record was lost, so no approvals or launch gates are on record. Find who changed the flag store "
            "(nexusctl audit tail on the host's audit dir); if the launch was not meant, pull the emergency "
            "switch (nexusctl rollback --emergency --reason TEXT); if it was, run the gated launch (nexusctl "
            "launch --mode %s --confirm --approver A --approver B) to put it on record"
            % (out["access_mode"], mode, mode))
    if "emergency" in latest:
        out["emergency"] = dict(latest["emergency"])
        out["emergency"]["in_effect"] = _holds(emergency_plan(), store, pfs)
    if facts.get("state_error"):
        out["problems"].append("recorded activations unknown: %s" % facts["state_error"])
    out["last_runs"] = [_run_state(run, facts.get("lock")) for run in list(facts.get("runs") or [])[:5]]
    for lines in dead_runs_left(facts.get("runs"), facts.get("lock")):
        out["problems"].append("; ".join(lines))
    return out


def _gateway_status(out, answer, store):
    """What the gateway serves (module gateway_verify, no reload), and a
    PROBLEM when that is not what the flag store gives."""
    if not isinstance(answer, dict):
        return
    seen = answer.get("seen") or {}
    if not seen:
        out["gateway"] = "not asked (%s)" % (answer.get("msg") or "no answer")
        return
    out["gateway"] = gateway.describe_seen(seen)
    if seen.get("unreachable") is not None:
        out["problems"].append("the gateway does not answer (%s): check that it runs (systemctl status, docker ps) "
                               "and read its log" % seen["unreachable"])
        return
    if store is None:
        return
    expected = gateway.served_state(store.data)
    differ = gateway.mismatch(expected, seen)
    if differ:
        cause = gateway.explain(expected, seen, "not asked")
        if cause:
            cause += "; the flag store parses now, so reload the gateway (curl -X POST <gateway>%s)" \
                % gateway.RELOAD_PATH
        cause = cause or (
            "it has not reread the flag store since the file changed: reload it (curl -X POST "
            "<gateway>%s), or find who changed the file" % gateway.RELOAD_PATH)
        out["problems"].append("the gateway serves %s, but the flag store gives %s. %s"
                               % (gateway.describe_seen(seen), gateway.describe_expect(expected), cause))


def _holds(plan, store, pfs):
    """True when ``plan`` is in effect, False when not, None when that
    cannot be told (a file could not be read)."""
    if store is None:
        return None
    try:
        if flag_change(plan, store).changed:
            return False    # the flags alone say so, whatever the PF files
        return not differences(plan, store, pfs)
    except ActivationError:
        return None


def _run_state(run, lock):
    """The run with ``state``: finished (an end record), running (it holds
    the deployment lock and its process was seen alive: lock ``alive``) or
    unfinished (no end record: still going elsewhere, or cut short)."""
    run = dict(run)
    lock = lock or {}
    holder = lock.get("holder") or {}
    if run.get("status") is not None:
        run["state"] = "finished"
    elif run.get("run_id") and holder.get("run_id") == run["run_id"] and lock.get("alive") \
            and not lock.get("gone_reason"):
        run["state"] = "running"
    else:
        run["state"] = "unfinished"
    return run
