# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Runs as the audit trail tells them: when a run ended (by the rule of
RUN_ENDS and ONE_RECORD_RUNS), what a run cut short left behind, and
whether the newest Phase 4 prepare run passed recently enough."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import APPLIED_EVENT, EMERGENCY_EVENT, PREPARE_PLAYBOOK
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import format_utc


def summarize_run(records):
    """One run's summary from its audit records [(event, fields, epoch, run)],
    by the rule of RUN_ENDS and ONE_RECORD_RUNS (the host's
    nexus-rollback-<stamp>.sh writes no DEPLOYMENT_START: its first record
    is its start). ``status`` None: not ended; a guard run's status is its
    outcome (clean, canceled, switch_pulled, ...), never "success": it
    changes nothing itself (its switch is a run of its own).
    ``refused_at_lock``: the run was refused the lock and did nothing else."""
    summary = {"run_id": None, "playbook": None, "started": None, "completed": None, "status": None,
               "precheck_status": None, "left": [], "refused_at_lock": False}
    playbook_run = False
    for event, fields, epoch, run in records:
        summary["run_id"] = summary["run_id"] or run
        if event in LEFT_EVENTS and event not in summary["left"]:
            # What a run cut short leaves behind (dead_runs_left).
            summary["left"].append(event)
        if event == "ROLLBACK_START" and fields.get("snapshot"):
            summary["rollback_of"] = fields.get("snapshot")
        if event == "APPROVALS_ACCEPTED" and fields.get("nonce_sha256"):
            # Approvals are good for one run: the next launch gate looks for it.
            summary["approvals_nonce"] = fields["nonce_sha256"]
        if event == "DEPLOYMENT_START":
            playbook_run = True
            # A switch refused the lock and then let take it over is one run.
            summary["refused_at_lock"] = False
            summary["status"] = summary["completed"] = None
            summary["playbook"] = fields.get("playbook")
            summary["started"] = epoch
        elif event == "PRECHECK_COMPLETE":
            summary["precheck_status"] = fields.get("status")
        elif event == "DEPLOYMENT_COMPLETE":
            summary["status"] = fields.get("status")
            summary["completed"] = epoch
        elif not playbook_run:
            summary["started"] = summary["started"] or epoch
            if event == "ROLLBACK_START" and fields.get("via") == "script":
                summary["playbook"] = "rollback.sh"
            elif event == "ROLLBACK_COMPLETE":
                summary["status"] = fields.get("status")
                summary["completed"] = epoch
            elif event == "GUARD_START":
                summary["playbook"] = summary["playbook"] or "guard"
            elif event == "GUARD_END" and summary["playbook"] == "guard":
                summary["status"] = fields.get("outcome") or "ended"
                summary["completed"] = epoch
            elif event == "LOCK_REFUSED" and summary["status"] is None:
                summary["status"] = "refused"
                summary["completed"] = epoch
                summary["refused_at_lock"] = True
            elif event == "LOCK_BROKEN":
                summary["playbook"] = summary["playbook"] or "unlock"
                summary["status"] = "success"
                summary["completed"] = epoch
    return summary


# The records that tell what a run did to the platform's files before it
# was cut short: a change written, confirmed and recorded, or undone.
LEFT_EVENTS = ("SNAPSHOT_CREATED", "FLAGS_CHANGED", "PF_SETTINGS_CHANGED", APPLIED_EVENT, EMERGENCY_EVENT,
               "ACTIVATION_ROLLED_BACK", "ACTIVATION_ROLLBACK_FAILED", "ROLLBACK_START", "ROLLBACK_FILE_RESTORED")
CHANGING_KINDS = ("activation", "rollback")


# How many runs cut short status and the gate spell out, newest first.
DEAD_RUNS_SHOWN = 5


def dead_runs_left(runs, lock, current_run=None):
    """What every run that never finished left behind, since the newest
    changing run that did finish: a list of line lists (one per run, newest
    first, at most DEAD_RUNS_SHOWN), then a line list saying how many older
    ones there are, then one saying the order of the rollbacks when more
    than one left a change applied but not confirmed. [] when there is
    nothing to say, or the newest unfinished run may still be running.
    ``runs``: summaries newest first (activation.record.read_runs);
    ``lock``: {holder, gone_reason, alive} as activation_info and the
    controller see it; ``current_run``: the run asking, left out."""
    lock = lock or {}
    holder = lock.get("holder") or {}
    dead = []
    for run in runs or []:
        if not run.get("run_id") or run.get("run_id") == current_run or run.get("started") is None:
            continue
        if run.get("status") is not None:
            if run.get("kind") in CHANGING_KINDS and run.get("status") == "success":
                break       # a changing run succeeded after these: what older ones left is handled
            # A prepare run changes no flag; a run refused (at the lock or its
            # gate) or failed (and rolled back to its own snapshot, which holds
            # what older runs left) settles nothing.
            continue
        if holder.get("run_id") == run["run_id"] and not lock.get("gone_reason") and \
                (lock.get("alive") or current_run is None):
            # It holds the lock and may be alive: not for us to call it dead.
            if current_run is None and not dead:
                return []
            continue
        dead.append(run)
    out = [_left_lines(run, lock) for run in dead[:DEAD_RUNS_SHOWN]]
    if len(dead) > DEAD_RUNS_SHOWN:
        out.append(["and %d older runs cut short, not listed here (their records are in the audit directory's "
                    "activation-*.log and rollback-*.log; roll the newest back first)"
                    % (len(dead) - DEAD_RUNS_SHOWN)])
    pending = [run["run_id"] for run in dead if _unconfirmed(run.get("left") or [])]
    if len(pending) > 1:
        out.append(["%d runs were cut short with a change applied but not confirmed: roll them back newest first "
                    "(each rollback restores the state before its run, which holds the older run's change): %s"
                    % (len(pending), ", then ".join("nexusctl rollback %s" % run_id for run_id in pending))])
    return out


def _unconfirmed(left):
    """True when a run cut short wrote a change it neither confirmed,
    recorded nor rolled back."""
    return ("FLAGS_CHANGED" in left or "PF_SETTINGS_CHANGED" in left) and not any(
        event in left for event in ("ROLLBACK_START", "ACTIVATION_ROLLED_BACK", "ACTIVATION_ROLLBACK_FAILED",
                                    APPLIED_EVENT, EMERGENCY_EVENT))


def _left_lines(run, lock):
    holder = (lock or {}).get("holder") or {}
    run_id, left = run["run_id"], run.get("left") or []
    what = run.get("playbook") or run.get("kind") or "run"
    lines = ["run %s (%s, started %s) never finished (no end record: killed or cut off)"
             % (run_id, what, when_text(run.get("started")))]
    if holder.get("run_id") == run_id:
        if lock.get("gone_reason"):
            lines.append("its deployment lock is still on the host, its holder gone (%s): the next run from "
                         "that controller takes it over, else nexusctl unlock --reason TEXT" % lock["gone_reason"])
        else:
            lines.append("its deployment lock is still held until its lease ends; once sure that run is gone: "
                         "nexusctl unlock --reason TEXT")
    else:
        lines.append("its deployment lock was recovered (released or taken over since)")
    stamp = run_id[:16]
    rollback = ("nexusctl rollback %s (on the host, no controller: sudo <audit dir>/%s)"
                % (run_id, audit_log.script_name("rollback", stamp)))
    if "ROLLBACK_START" in left and "ACTIVATION_ROLLED_BACK" not in left:
        lines.append("it was restoring snapshot %s%s and was cut off: run that rollback again to finish it (nexusctl "
                     "rollback %s); files already restored are left as they are"
                     % (run.get("rollback_of") or "?", " (some files restored)" if "ROLLBACK_FILE_RESTORED" in left
                        else "", run.get("rollback_of") or "RUN"))
    elif "ACTIVATION_ROLLED_BACK" in left:
        lines.append("its change was rolled back before it was cut off: nothing to undo")
    elif "ACTIVATION_ROLLBACK_FAILED" in left:
        lines.append("its automatic rollback FAILED: restore by hand: %s --force" % rollback)
    elif APPLIED_EVENT in left or EMERGENCY_EVENT in left:
        lines.append("its change was confirmed and recorded before it was cut off: nothing to undo")
    elif _unconfirmed(left):
        lines.append("it wrote its change (%s) but never confirmed nor recorded it: the change is applied but "
                     "NOT confirmed, and no gate counts it. Roll it back: %s; or run the same command again to "
                     "confirm and record it" % (", ".join(e for e in left if e.endswith("_CHANGED")), rollback))
    elif "SNAPSHOT_CREATED" in left:
        lines.append("it took its snapshot but no change is on record: if a file differs from it, roll back: %s"
                     % rollback)
    else:
        lines.append("it changed no flag or PF value")
    return lines


def check_prepare_run(runs, now, max_age_hours, audit_dir="the audit directory"):
    """(None, evidence) when the newest completed Phase 4 prepare run passed
    and is recent enough, else (refusal, evidence). ``runs``: summaries of
    deployment-*.log runs, newest first."""
    hint = "run ansible-playbook playbooks/phase4.yml (nexusctl deploy)"
    for run in runs or []:
        if run.get("kind", "deployment") != "deployment" or run.get("playbook") not in (None, PREPARE_PLAYBOOK):
            continue    # another play
        evidence = {"run_id": run.get("run_id"), "file": run.get("file"), "completed": run.get("completed")}
        if run.get("refused_at_lock"):
            continue    # it never started its stages: no prepare run at all
        if run.get("completed") is None:
            if run.get("started") is None:
                continue    # no record of its start: nothing to judge
            # Killed or cut off: its result is unknown, and an older run
            # must not stand in for it.
            return ("the newest Phase 4 prepare run %s (%s) started %s and never finished (no DEPLOYMENT_COMPLETE: "
                    "killed or cut off), so nothing says it passed; %s again"
                    % (run.get("run_id"), run.get("file"), format_utc(run["started"]), hint), evidence)
        if run.get("precheck_status") is None:
            if run.get("status") == "success":
                continue    # a run told to skip the prechecks is no prepare run
            return ("the newest Phase 4 prepare run %s (%s) failed before its prechecks finished (DEPLOYMENT_COMPLETE "
                    "status=%s, no PRECHECK_COMPLETE); fix what it reported and %s"
                    % (run.get("run_id"), run.get("file"), run.get("status"), hint), evidence)
        if run.get("status") != "success" or run.get("precheck_status") != "pass":
            return ("the newest Phase 4 prepare run %s (%s) did not pass (DEPLOYMENT_COMPLETE status=%s, "
                    "PRECHECK_COMPLETE status=%s); fix what it reported and %s"
                    % (run.get("run_id"), run.get("file"), run.get("status"), run.get("precheck_status"), hint),
                    evidence)
        age = now - run["completed"]
        if age > max_age_hours * 3600:
            return ("the newest passing Phase 4 prepare run %s finished %s, %d h before now; expected one within "
                    "%s h (activation_gate_prepare_max_age_hours); %s again"
                    % (run.get("run_id"), format_utc(run["completed"]), int(age // 3600),
                       number_text(max_age_hours), hint), evidence)
        return None, evidence
    return ("no completed Phase 4 prepare run with prechecks found in %s; %s first" % (audit_dir, hint)), {}


def when_text(epoch):
    return format_utc(epoch) if isinstance(epoch, (int, float)) and not isinstance(epoch, bool) else "?"


def number_text(value):
    return ("%.2f" % value).rstrip("0").rstrip(".")
