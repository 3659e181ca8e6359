# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The gates: whether a marketplace step or the launch may run, and the
emergency switch's plan, decided from the host's facts with no I/O
(DESIGN section 6). A refusal may be forced with a reason, except the
launch's confirmation and approvals, which no reason replaces. The
approvers' secrets are checked on the controller (plugin_utils/approvals.py);
the launch gate gets only the verdict."""

from __future__ import annotations

import json
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import (DAY, DEFAULT_PREPARE_MAX_AGE_HOURS, DEFAULT_WAIT_DAYS, GLOBAL_PF,
                                                                                  MARKETPLACE_PF, ActivationError, ApprovalsNotGiven,
                                                                                  force_hint)
from ansible_collections.nexus_cos.launch.plugins.module_utils import operator_hints
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation.clock import check_host_clock
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation.facts import facts_documents
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation.ledger import entry_in_effect, latest_entries, newest_entry, undone_text
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation.plan import (MISSING, Plan, differences, emergency_flags, emergency_plan,
                                                                                       expected_state, flag_change, get_key, launch_plan, marketplace_plan,
                                                                                       truncate_reason)
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation.runs import check_prepare_run, number_text, when_text
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import format_utc, iso_utc


# ---------------------------------------------------------------- approvals

def required_roles(team_approval):
    """Roles from global-launch.yaml deployment.team_approval:
    'founder_and_technical_lead' -> ['founder', 'technical_lead']."""
    if not isinstance(team_approval, str) or not team_approval.strip():
        raise ActivationError("%s: deployment.team_approval is %s; expected roles joined by _and_, such as "
                              "founder_and_technical_lead" % (GLOBAL_PF, json.dumps(team_approval)))
    roles = [r for r in team_approval.strip().split("_and_") if r]
    if len(set(roles)) != len(roles):
        raise ActivationError("%s: deployment.team_approval %s names a role twice" % (GLOBAL_PF, team_approval))
    return roles


# ---------------------------------------------------------------- launch gates

def check_launch_gates(gates, waivers, verdicts=None):
    """(waived [(name, reason)], refusals [str], notes [str]) for
    global-launch.yaml launch_gates.required_validations and the run's
    launch_waivers {gate: reason}. ``verdicts``, a list, gets one
    (gate, verdict, reason) for each launch gate: passed, waived or refused."""
    verdicts = [] if verdicts is None else verdicts
    waivers = waivers or {}
    if not isinstance(waivers, dict):
        return [], ["launch_waivers: expected a mapping {GATE: REASON}, found %s" % type(waivers).__name__], []
    if not isinstance(gates, list) or not gates:
        return [], ["%s: launch_gates.required_validations is missing or empty; expected the list of launch "
                    "gates" % GLOBAL_PF], []
    names = [g.get("name") for g in gates if isinstance(g, dict)]
    refusals, waived, notes = [], [], []
    for name in sorted(waivers):
        reason = waivers[name]
        if name not in names:
            refusals.append("launch_waivers names %s, which is not a launch gate in %s (gates: %s)"
                            % (name, GLOBAL_PF, ", ".join(str(n) for n in names)))
        elif not isinstance(reason, str) or not reason.strip():
            refusals.append("launch_waivers.%s: the reason is empty; give the reason in words" % name)
    for gate in gates:
        if not isinstance(gate, dict):
            continue
        name, status = gate.get("name"), gate.get("status")
        reason = waivers.get(name)
        if status == "passed":
            if name in waivers:
                notes.append("launch gate %s has passed; its waiver is not needed" % name)
            verdicts.append((name, "passed", "passed in %s" % GLOBAL_PF))
            continue
        if isinstance(reason, str) and reason.strip():
            waived.append((name, reason.strip()))
            verdicts.append((name, "waived", "%s in %s, waived: %s" % (status, GLOBAL_PF, reason.strip())))
            continue
        if name in waivers:
            verdicts.append((name, "refused", "%s in %s; its waiver has no reason" % (status, GLOBAL_PF)))
            continue    # empty reason, refused above
        refusals.append("launch gate %s is %s in %s launch_gates.required_validations; expected passed, or waive "
                        "it with a reason: -e '{\"launch_waivers\": {\"%s\": \"REASON\"}}' (nexusctl launch "
                        "--waive %s=REASON)" % (name, status, GLOBAL_PF, name, name))
        verdicts.append((name, "refused", refusals[-1]))
    return waived, refusals, notes


# ---------------------------------------------------------------- decisions

def verdict_lines(gates, needs=()):
    """One line a gate (verdict, gate, reason; when it opens), then one a
    thing a real run needs: what a preview shows."""
    lines = []
    for item in gates:
        reason = " | ".join(part for part in str(item.get("reason") or "").splitlines() if part)
        if item["verdict"] == "needed":
            reason = "not given to a preview; what a real run needs follows"
        line = "%-8s %s%s" % (item["verdict"].upper(), item["gate"], ": " + reason if reason else "")
        if item.get("opens"):
            line += " (opens by itself %s)" % item["opens"]
        lines.append(line)
    return lines + ["a real run needs %s" % what for what in needs]


class Decision(object):
    """A gate's verdict and what the run then does."""

    def __init__(self, plan, now):
        self.plan = plan
        self.now = now
        self.refusals = []          # forceable
        self.hard_refusals = []     # not forceable (confirm, approvals, bad config)
        self.forced = []
        self.notes = list(plan.notes) if plan else []
        self.events = []
        self.already_applied = False
        self.settings = {}
        self.expect = {}
        self.flag_changes = []
        self.differences = []
        self.entry_details = {}
        self.pf_skipped = {}        # {PF file: why}, the kill switch only
        # Each gate's verdict, for a preview (check mode) to show one a line:
        # {gate, verdict: open|refused|forced|waived|needed, reason, opens}.
        self.gates = []
        self.needs = []             # what a real run needs that a preview was not given

    def verdict(self, gate, refusal="", hard=False, reason="", opens=None):
        """Record the verdict of one gate; a refusal also goes where the run
        reads it (hard: no reason forces it). ``opens``: when a refused gate
        opens by itself (a soak time), epoch seconds."""
        if refusal:
            (self.hard_refusals if hard else self.refusals).append(refusal)
        self.gates.append({"gate": gate, "verdict": "refused" if refusal else "open", "reason": refusal or reason,
                           "opens": iso_utc(opens) if opens is not None else "", "forceable": bool(refusal) and not hard})

    def need(self, gate, what):
        """A gate a preview cannot decide without what a real run is given
        (the confirmation, the approvers' secrets): ``what`` it needs."""
        self.needs.append(what)
        self.gates.append({"gate": gate, "verdict": "needed", "reason": what, "opens": "", "forceable": False})

    @property
    def open(self):
        return not self.refusals and not self.hard_refusals

    def message(self):
        if self.open:
            return ""
        # One refusal a line; the force hint closes the last one.
        parts = self.hard_refusals + self.refusals
        text = "\n".join(parts)
        if self.refusals and not self.hard_refusals:
            text += "; " + force_hint(operator_hints.driver())
        return text

    def as_dict(self):
        return {
            "key": self.plan.key if self.plan else None,
            "label": self.plan.label if self.plan else None,
            "open": self.open,
            "refused": not self.open,
            "msg": self.message(),
            "already_applied": self.already_applied,
            "now": int(self.now),
            "now_utc": iso_utc(self.now),
            "forced": list(self.forced),
            "notes": list(self.notes),
            "enable": list(self.plan.enable) if self.plan else [],
            "disable": list(self.plan.disable) if self.plan else [],
            "cascade": bool(self.plan.cascade) if self.plan else False,
            # The same, as module feature_flag takes it: every flag in one write.
            "flags": dict([(name, True) for name in (self.plan.enable if self.plan else ())]
                          + [(name, False) for name in (self.plan.disable if self.plan else ())]),
            "flag_changes": list(self.flag_changes),
            "pf_settings": [{"file": name, "settings": values} for name, values in sorted(self.settings.items())],
            "expect": dict(self.expect),
            "differences": list(self.differences),
            "entry_details": dict(self.entry_details),
            "pf_skipped": dict(self.pf_skipped),
            "gates": [dict(g) for g in self.gates],
            "verdict_lines": verdict_lines(self.gates, self.needs),
            "needs": list(self.needs),
        }


def _prepare(decision, facts, max_age_hours):
    refusal, evidence = check_prepare_run(facts.get("runs"), decision.now, max_age_hours,
                                          facts.get("audit_dir") or "the audit directory")
    passed = ""
    if not refusal and evidence:
        passed = "Phase 4 prepare run %s passed (finished %s)" % (evidence["run_id"], format_utc(evidence["completed"]))
        decision.notes.append(passed)
    decision.verdict("prepare run", refusal or "", reason=passed)


def _common(decision, facts, plan, store, pfs):
    """Fill in the plan's concrete changes; a config the plan cannot apply
    to is a hard refusal."""
    try:
        decision.settings = plan.settings_for(pfs)
        decision.expect = expected_state(plan, store)
        decision.flag_changes = flag_change(plan, store).as_dicts()
        decision.differences = differences(plan, store, pfs)
    except ActivationError as exc:
        decision.verdict("configuration", str(exc), hard=True)
        return False
    return True


def _apply_force(decision, force_reason, gate):
    reason = (force_reason or "").strip()
    if not decision.refusals:
        if reason:
            decision.notes.append("activation_force_reason given, but the gate is open; nothing was forced")
        return
    if not reason:
        return
    for item in decision.gates:
        if item["verdict"] == "refused" and item["forceable"]:
            item["verdict"] = "forced"
            item["reason"] = "%s (forced: %s)" % (item["reason"], reason)
    for refusal in decision.refusals:
        decision.forced.append(refusal)
        decision.events.append(("GATE_FORCED", {"gate": gate, "reason": reason, "refusal": refusal}))
    decision.notes.append("gate forced (%s): %s" % (reason, "; ".join(decision.refusals)))
    decision.refusals = []
    decision.entry_details["forced_reason"] = reason


def _clock_event(decision, clock_override, host_now):
    if clock_override is not None:
        decision.events.append(("CLOCK_OVERRIDE", {"now": iso_utc(clock_override),
                                                   "host_now": iso_utc(host_now) if host_now else "unknown"}))


def _host_clock(decision, facts):
    hard, soft = check_host_clock(facts)
    if hard:
        decision.verdict("host clock", hard, hard=True)
    if soft:
        decision.verdict("host clock", soft)
    if not hard and not soft:
        decision.verdict("host clock", reason="agrees with the controller's and the audit trail"
                         if facts.get("now") is not None else "not read")


def _gate_event(decision):
    fields = {"activation": decision.plan.key,
              "status": "applied" if decision.already_applied else ("open" if decision.open else "refused")}
    if not decision.open:
        fields["reason"] = decision.message()
    decision.events.append(("ACTIVATION_GATE", fields))


def evaluate_marketplace(step, facts, clock_override=None, force_reason="", wait_days=DEFAULT_WAIT_DAYS,
                         prepare_max_age_hours=DEFAULT_PREPARE_MAX_AGE_HOURS, daily_limits=None, phase=3):
    """Gate and plan of marketplace Phase 3 step ``step``."""
    if phase != 3:
        raise ActivationError("activation phase %r: only Phase 3 has progressive steps (expected 3)" % (phase,))
    now = clock_override if clock_override is not None else facts.get("now", time.time())
    try:
        store, pfs = facts_documents(facts)
    except ActivationError as exc:
        decision = Decision(Plan("marketplace_step_%s" % step, "marketplace step %s" % step), now)
        decision.verdict("configuration", str(exc), hard=True)
        _clock_event(decision, clock_override, facts.get("now"))
        _host_clock(decision, facts)
        _gate_event(decision)
        return decision
    plan = marketplace_plan(step, store, daily_limits)
    decision = Decision(plan, now)
    _clock_event(decision, clock_override, facts.get("now"))
    _host_clock(decision, facts)
    entries = facts.get("activations") or []
    latest = latest_entries(entries)
    if _common(decision, facts, plan, store, pfs):
        if plan.key in latest and not decision.differences:
            decision.already_applied = True
            decision.notes.insert(0, "%s already applied at %s by run %s; nothing to do"
                                  % (plan.label, format_utc(latest[plan.key]["applied_at"]),
                                     latest[plan.key]["run_id"]))
            _gate_event(decision)
            return decision
        for audience, key, expected in plan.limits:
            found = get_key(pfs.get(MARKETPLACE_PF, {}), key)
            decision.verdict("daily limit %s" % audience, "%s: %s is %s; expected %s NexCoin for %s "
                             "(activation_gate_daily_limits.%s)"
                             % (MARKETPLACE_PF, key, json.dumps(None if found is MISSING else found), expected,
                                audience, audience) if found != expected else "",
                             reason="%s NexCoin, as %s says" % (expected, MARKETPLACE_PF))
        if step == 3:
            kyc = get_key(pfs.get(MARKETPLACE_PF, {}), "marketplace.progressive_access.public.kyc_level")
            decision.verdict("KYC level", "%s: marketplace.progressive_access.public.kyc_level is %s; expected "
                             "\"basic\"" % (MARKETPLACE_PF, json.dumps(None if kyc is MISSING else kyc))
                             if kyc != "basic" else "", reason="basic, as %s says" % MARKETPLACE_PF)
    if step == 1:
        _prepare(decision, facts, prepare_max_age_hours)
    else:
        _previous_step(decision, step, entries, latest, store, pfs, daily_limits, wait_days)
    _apply_force(decision, force_reason, plan.key)
    _gate_event(decision)
    return decision


def _previous_step(decision, step, entries, latest, store, pfs, daily_limits, wait_days):
    prev_key = "marketplace_step_%d" % (step - 1)
    prev = latest.get(prev_key)
    gate = "step %d" % (step - 1)
    if prev is None:
        unverified = newest_entry(entries, prev_key)
        if unverified is not None and unverified.get("undone"):
            text = ("step %d needs step %d first: its recorded activation (run %s, applied %s) was %s"
                    % (step, step - 1, unverified.get("run_id"), when_text(unverified.get("applied_at")),
                       undone_text(unverified)))
            if entry_in_effect(unverified, store, pfs):
                text += ("; the step %d changes in place now were made by a run that did not record them (cut "
                         "short before its record step): run step %d again to confirm and record them, or roll "
                         "them back" % (step - 1, step - 1))
            decision.verdict(gate, text)
        elif unverified is not None:
            decision.verdict(gate, "step %d needs step %d first: its recorded activation (run %s) does not "
                             "match the audit trail (%s)" % (step, step - 1, unverified.get("run_id"),
                                                             unverified.get("audit_problem")))
        else:
            decision.verdict(gate, "step %d needs step %d first: no recorded activation of step %d"
                             % (step, step - 1, step - 1))
        return
    try:
        missing = differences(marketplace_plan(step - 1, store, daily_limits, cumulative=True), store, pfs)
    except ActivationError as exc:
        missing = [str(exc)]
    if missing:
        decision.verdict(gate, "step %d (applied %s by run %s) is no longer in effect (%s); apply it again first"
                         % (step - 1, format_utc(prev["applied_at"]), prev.get("run_id"), "; ".join(missing)))
        return
    applied = "applied %s by run %s, in effect" % (format_utc(prev["applied_at"]), prev.get("run_id"))
    decision.verdict(gate, reason=applied)
    if step in (2, 3):
        opens = prev["applied_at"] + wait_days * DAY
        soak = "soak of %s days after step %d" % (number_text(wait_days), step - 1)
        if decision.now < opens:
            decision.verdict(soak, "step %d opens %s (%s days after step %d at %s)"
                             % (step, format_utc(opens), number_text(wait_days), step - 1,
                                format_utc(prev["applied_at"])), opens=opens)
        else:
            decision.verdict(soak, reason="elapsed %s" % format_utc(opens))


def evaluate_launch(mode, facts, confirm=False, check_approvals=None, waivers=None, clock_override=None,
                    force_reason="", prepare_max_age_hours=DEFAULT_PREPARE_MAX_AGE_HOURS):
    """Gate and plan of the Phase 4 launch (``mode`` global or soft).
    ``check_approvals(roles)`` returns (approved [{name, role}], problems
    [str]) for the roles the PF requires: the controller checks the
    approvers' secrets (plugin_utils/approvals.py); nothing here sees one.

    A preview (``facts["preview"]`` true: a check-mode run, which changes
    nothing; only the action plugin sets it, from the task's own check mode)
    lists the confirmation it was not given and the approvals its
    ``check_approvals`` says were not given (ApprovalsNotGiven) in ``needs``
    instead of refusing them; given, they are checked as in a real run."""
    preview = facts.get("preview") is True
    plan = launch_plan(mode)
    now = clock_override if clock_override is not None else facts.get("now", time.time())
    decision = Decision(plan, now)
    _clock_event(decision, clock_override, facts.get("now"))
    _host_clock(decision, facts)
    if confirm is True:
        decision.verdict("confirmation", reason="given")
    elif preview:
        decision.need("confirmation", "an explicit confirmation: nexusctl launch --confirm, or "
                                      "-e nexus_launch_confirm=true")
    else:
        decision.verdict("confirmation", "the Phase 4 launch changes public access and needs an explicit "
                                         "confirmation: nexusctl launch --confirm, or -e nexus_launch_confirm=true",
                         hard=True)
    try:
        store, pfs = facts_documents(facts)
    except ActivationError as exc:
        decision.verdict("configuration", str(exc), hard=True)
        _gate_event(decision)
        return decision
    latest = latest_entries(facts.get("activations"))
    if _common(decision, facts, plan, store, pfs) and plan.key in latest and not decision.differences \
            and (confirm is True or preview):
        decision.already_applied = True
        decision.notes.insert(0, "%s already applied at %s by run %s; nothing to do"
                              % (plan.label, format_utc(latest[plan.key]["applied_at"]), latest[plan.key]["run_id"]))
        _gate_event(decision)
        return decision
    try:
        roles = required_roles(get_key(pfs.get(GLOBAL_PF, {}), "deployment.team_approval"))
    except ActivationError as exc:
        decision.verdict("approvals", str(exc), hard=True)
        roles = None
    if roles is not None:
        if check_approvals is None:
            approved, problems = [], ["the launch approvals cannot be checked here: no approvals checker"]
        else:
            try:
                approved, problems = check_approvals(roles)
            except ApprovalsNotGiven as exc:
                # Only a preview may go without them; a real run is refused.
                approved, problems = [], (None if preview else [str(exc)])
                if preview:
                    decision.need("approvals", str(exc))
            except ActivationError as exc:
                approved, problems = [], [str(exc)]
    if roles is not None and problems is not None:
        decision.verdict("approvals", "\n".join(problems), hard=True,
                         reason="by %s" % ", ".join("%s (%s)" % (a["name"], a["role"]) for a in approved))
        for item in approved:
            decision.events.append(("LAUNCH_APPROVED", {"approver": item["name"], "role": item["role"]}))
        if approved:
            decision.entry_details["approvers"] = ",".join("%s:%s" % (a["name"], a["role"]) for a in approved)
    gates = get_key(pfs.get(GLOBAL_PF, {}), "launch_gates.required_validations")
    verdicts = []
    waived, refusals, notes = check_launch_gates(None if gates is MISSING else gates, waivers, verdicts)
    decision.hard_refusals.extend(refusals)
    decision.notes.extend(notes)
    for name, verdict, reason in verdicts:
        decision.gates.append({"gate": "launch gate %s" % name, "verdict": "open" if verdict == "passed" else verdict,
                               "reason": reason, "opens": "", "forceable": False})
    if not verdicts and refusals:
        decision.gates.append({"gate": "launch gates", "verdict": "refused", "reason": "\n".join(refusals),
                               "opens": "", "forceable": False})
    unwaived = [name for name, verdict, dummy in verdicts if verdict == "refused"]
    if preview and unwaived:
        decision.needs.append("a waiver with a reason for each launch gate not passed: %s (nexusctl launch --waive "
                              "GATE=REASON)" % ", ".join(unwaived))
    if not refusals:
        for name, reason in waived:
            decision.events.append(("LAUNCH_GATE_WAIVED", {"gate": name, "reason": reason}))
        if waived:
            decision.entry_details["waived"] = ",".join(name for name, dummy in waived)
    _prepare(decision, facts, prepare_max_age_hours)
    _apply_force(decision, force_reason, plan.key)
    _gate_event(decision)
    return decision


def evaluate_emergency(facts, clock_override=None, reason="", with_pf=True):
    """The emergency switch has no gate; it reads the flag store as the
    platform's service does (flag_store.service_loads: the facts' document
    must come from that reading) and needs only one the service serves. A
    PF file it cannot read or apply to is left out, named in
    ``decision.pf_skipped`` {file: why}; it never stops the flags."""
    plan = emergency_plan(with_pf)
    now = clock_override if clock_override is not None else facts.get("now", time.time())
    decision = Decision(plan, now)
    _clock_event(decision, clock_override, facts.get("now"))
    try:
        store, pfs = facts_documents(facts, service_reading=True)
    except ActivationError as exc:
        decision.hard_refusals.append(str(exc))
        _gate_event(decision)
        return decision
    for name in sorted(set(s.file for s in plan.settings)):
        try:
            Plan(plan.key, plan.label, settings=[s for s in plan.settings if s.file == name]).settings_for(pfs)
        except ActivationError as exc:
            item = (facts.get("pfs") or {}).get(name) or {}
            decision.pf_skipped[name] = item.get("error") or str(exc)
    enable, disable, notes = emergency_flags(plan, store)
    plan = Plan(plan.key, plan.label, enable=enable, disable=disable, cascade=plan.cascade,
                settings=[s for s in plan.settings if s.file not in decision.pf_skipped], notes=notes)
    decision.plan = plan
    decision.notes = list(notes)
    if _common(decision, facts, plan, store, pfs):
        decision.entry_details["from_mode"] = store.access_mode()
        decision.entry_details["reason"], cut = truncate_reason(reason)
        decision.entry_details.update(cut)
        if decision.pf_skipped:
            decision.entry_details["pf_skipped"] = ",".join(sorted(decision.pf_skipped))
        if not decision.differences:
            decision.notes.insert(0, "the emergency state already holds; the gateway is reloaded and verified")
    _gate_event(decision)
    return decision
