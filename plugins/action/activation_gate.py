# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The activation gate: reads the host's facts (module activation_info),
decides on the controller (module_utils/activation, approvals checked
with passlib here, so no secret and no hash check ever runs on the host),
and has the decision's records written to the host's audit trail.

Approver secrets come, per approver, from the approval item itself, else
from the file named by NEXUS_LAUNCH_APPROVALS_FILE ({NAME: SECRET}, what
nexusctl writes for the length of a run), else from the environment
variable NEXUS_APPROVER_<NAME>_SECRET. None of them is ever returned,
printed or audited."""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.module_utils import activation, utc_time
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import clock as activation_clock
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import gate, ledger, plan, runs
from ansible_collections.nexus_cos.launch.plugins.module_utils.numbers import finite_number
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import approvals, argspec, pinned_vars

# The host paths the gate's facts are read from (module activation_info).
PATH_ARGS = ("audit_dir", "state_file", "flag_store", "pf_dir", "lock_path")
# The options as module activation_gate documents them; approvals may carry secrets.
ARGUMENT_SPEC = argspec.argument_spec("activation_gate", secret=("approvals",))


class ActionModule(ActionBase):

    _supports_check_mode = True
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        refusal = pinned_vars.message(pinned_vars.refusals(pinned_vars.run_extra_vars(self._loader)))
        if refusal:
            return _stop(result, refusal)
        try:
            # Types, choices, required and unknown options by the documented spec; a
            # refusal, not a failure, as every reason the gate cannot decide.
            dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            return _stop(result, exc.message)
        kind = args["kind"]
        try:
            clock = activation_clock.parse_clock(args.get("clock_now"))
            activation_clock.check_test_clock(clock, args.get("environment"))
        except activation.ActivationError as exc:
            return _stop(result, str(exc))

        try:
            max_skew = finite_number(args.get("max_clock_skew", utc_time.DEFAULT_MAX_CLOCK_SKEW), "max_clock_skew",
                                     "seconds", minimum=0)
        except ValueError as exc:
            return _stop(result, str(exc))

        query_args = dict((k, args[k]) for k in PATH_ARGS if args.get(k))
        # The host reads its clock between these two readings of the controller's.
        before = time.time()
        facts = self._execute_module(module_name="nexus_cos.launch.activation_info", module_args=query_args,
                                     task_vars=task_vars)
        facts["controller_clock"] = {"before": before, "after": time.time(), "max_skew": max_skew}
        if facts.get("unreachable"):
            return dict(result, **facts)
        if facts.get("failed"):
            return _stop(result, "reading the activation state: %s" % facts.get("msg"))
        if facts.get("state_error"):
            return _stop(result, facts["state_error"])

        # A preview is the task's own check mode, which no variable can set
        # (ansible_check_mode from -e is ignored): it changes nothing, so it
        # reports the verdicts instead of needing the confirmation and the
        # approvals, and audits nothing.
        preview = self._task.check_mode is True
        facts["preview"] = preview     # whatever the host answered
        try:
            decision = self._decide(kind, args, facts, clock)
        except activation.ActivationError as exc:
            return _stop(result, str(exc))

        audit_args = dict((k, args[k]) for k in ("audit_dir", "audit_file", "run_id") if args.get(k))
        if decision.events and args.get("audit_file") and not preview:
            audit_args.update(audit_events=[{"event": e, "fields": f} for e, f in decision.events])
            written = self._execute_module(module_name="nexus_cos.launch.audit_record", module_args=audit_args,
                                           task_vars=task_vars)
            if written.get("failed"):
                return _stop(result, "auditing the gate decision: %s" % written.get("msg"))
            if written.get("audit_head"):
                result["audit_head"] = written["audit_head"]

        out = decision.as_dict()
        details = dict(out.pop("entry_details"))
        forced_reason = details.pop("forced_reason", "")
        out["entry"] = ledger.new_entry(out["key"], decision.now, args.get("run_id") or "",
                                        args.get("audit_file") or "", forced_reason=forced_reason,
                                        clock_override=clock is not None, details=details)
        out["clock_override"] = clock is not None
        out["current"] = self._current(facts)
        out["lock"] = facts.get("lock")
        # The runs cut short before this one: what they left, said before anything changes.
        out["dead_runs"] = ["; ".join(lines) for lines in runs.dead_runs_left(
            facts.get("runs"), facts.get("lock"), current_run=args.get("run_id"))]
        out["state_file"] = facts.get("state_file")
        out["history"] = history(facts.get("activations"))
        out["preview"] = preview
        result.update(out)
        result["changed"] = False
        return result

    def _decide(self, kind, args, facts, clock):
        if kind == "marketplace":
            return gate.evaluate_marketplace(
                _int(args.get("step"), "step"), facts, clock_override=clock,
                force_reason=to_text(args.get("force_reason") or ""),
                wait_days=float(args.get("wait_days", activation.DEFAULT_WAIT_DAYS)),
                prepare_max_age_hours=float(args.get("prepare_max_age_hours",
                                                     activation.DEFAULT_PREPARE_MAX_AGE_HOURS)),
                daily_limits=args.get("daily_limits") or None, phase=_int(args.get("phase", 3), "phase"))
        if kind == "launch":
            known, accepted = args.get("approvers") or {}, {}

            def check_approvals(roles):
                if facts["preview"] and not args.get("approvals"):
                    # A preview given no approvals says what a real run needs.
                    raise activation.ApprovalsNotGiven(approvals.approvals_needed(known, roles))
                # Bound to this run and fresh (the approvals file), or no approval at all.
                from_file, bound = approvals.read_bound_approvals(
                    args.get("run_id") or "", approvals.used_nonces(facts.get("runs")),
                    max_age_minutes=float(args.get("approval_max_age_minutes", approvals.DEFAULT_MAX_AGE_MINUTES)))
                approved, problems = approvals.verify_approvals(
                    approvals.resolve_secrets(args.get("approvals"), from_file=from_file), known, roles)
                if approved:
                    accepted.update(bound, approvers=",".join(a["name"] for a in approved))
                return approved, problems

            decision = gate.evaluate_launch(
                args.get("mode"), facts, confirm=args["confirm"],
                check_approvals=check_approvals,
                waivers=args.get("waivers") or {}, clock_override=clock,
                force_reason=to_text(args.get("force_reason") or ""),
                prepare_max_age_hours=float(args.get("prepare_max_age_hours",
                                                     activation.DEFAULT_PREPARE_MAX_AGE_HOURS)))
            if accepted:
                # The nonce's hash on record: the next gate refuses these approvals.
                decision.events.insert(0, (approvals.ACCEPTED_EVENT, accepted))
            return decision
        raise activation.ActivationError("kind %r: expected marketplace or launch" % kind)

    @staticmethod
    def _current(facts):
        try:
            store = plan.load_store(facts["flag_store"]["document"])
        except (activation.ActivationError, KeyError, TypeError):
            return {}
        return plan.gateway_state(store)


# The ledger fields the launch report shows (no secret is ever in an entry).
HISTORY_FIELDS = ("key", "applied_at", "applied_at_utc", "run_id", "approvers", "waived", "forced_reason")


def history(entries):
    """The recorded activations across days, oldest first, for the launch
    report: their fields, and a rollback that undid one in words."""
    out = []
    for entry in entries or []:
        if isinstance(entry, dict):
            item = dict((k, entry[k]) for k in HISTORY_FIELDS if k in entry)
            item["undone_text"] = ledger.undone_text(entry) if entry.get("undone") else ""
            out.append(item)
    return sorted(out, key=lambda e: e.get("applied_at") or 0)


def _stop(result, msg):
    """A gate that cannot decide refuses: returned, not failed, so the play
    shows the reason although the task runs with no_log."""
    result.update(refused=True, msg=msg, already_applied=False, changed=False)
    return result


def _int(value, name):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise activation.ActivationError("%s: expected a whole number, found %r" % (name, value))
