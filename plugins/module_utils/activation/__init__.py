# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Activation of the Nexus COS launch: the marketplace Phase 3 steps, the
Phase 4 public launch and the emergency switch (DESIGN section 6).

Everything here is a decision made from facts, with no I/O: which flags and
PF keys a step changes, whether its gate is open, what the gateway must
report afterwards. The facts come from the host (module activation_info,
action ``query``); the decisions are made on the controller (action plugin
activation_gate), where the approvals are checked against password hashes.
Standard library only. The approvers' secrets are checked on the controller
(plugin_utils/approvals.py, passlib); the launch gate gets only the verdict.

Terms:

* a *plan* is what an activation changes: flags to enable and disable in one
  write of the flag store, PF settings per file, and the state the gateway
  must confirm afterwards;
* an *entry* is a recorded activation, kept in the state file
  ``activation-state.json`` in the audit directory and mirrored by an audit
  record; a gate only believes an entry whose audit record matches it;
* a *gate* opens or refuses; a refusal may be forced with a reason, except
  the launch's confirmation and approvals, which no reason replaces.
"""

from __future__ import annotations

import json
import re
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, flag_store, gateway
from ansible_collections.nexus_cos.launch.plugins.module_utils import utc_time
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import format_utc, iso_utc, parse_iso

DAY = 86400
STATE_FILE = "activation-state.json"
STATE_FORMAT = 1

MARKETPLACE_PF = "marketplace-phase3.yaml"
GLOBAL_PF = "global-launch.yaml"
TRANSITION_PF = "founder-public-transition.yaml"
JURISDICTION_PF = "jurisdiction-engine.yaml"
PF_FILES = (MARKETPLACE_PF, GLOBAL_PF, TRANSITION_PF, JURISDICTION_PF)

PHASE2_FLAG = "MARKETPLACE_PHASE2_ENABLED"
PHASE3_FLAG = "MARKETPLACE_PHASE3_ENABLED"
FULL_FLAG = "PUBLIC_FULL_LAUNCH_MODE"
SOFT_FLAG = "PUBLIC_SOFT_LAUNCH_MODE"
FOUNDER_FLAG = "FOUNDER_BETA_MODE"
JURISDICTION_FLAG = "JURISDICTION_ENGINE_ENABLED"

STEPS = (1, 2, 3, 4)
LAUNCH_MODES = ("global", "soft")
KINDS = ("marketplace", "launch")
# DESIGN section 6: audience daily limits in NexCoin, checked against the PF.
DEFAULT_DAILY_LIMITS = {"founders": 10000, "creators": 5000, "public": 1000}
STEP_AUDIENCE = {1: "founders", 2: "creators", 3: "public"}
DEFAULT_WAIT_DAYS = 7
DEFAULT_PREPARE_MAX_AGE_HOURS = 24
PREPARE_PLAYBOOK = "phase4"

FORCE_HINT = "force it with -e activation_force_reason=TEXT"
APPLIED_EVENT = "ACTIVATION_STEP_APPLIED"
EMERGENCY_EVENT = "EMERGENCY_SWITCH"
# The reason kept in an emergency's record and entry: a reason of any size
# is cut to this many UTF-8 bytes, so the record (one audit line) is written.
REASON_LIMIT_BYTES = 1024


class ActivationError(ValueError):
    """An input that cannot be used (bad clock, unknown step, malformed
    variable). The message names the variable and what was expected."""


# ---------------------------------------------------------------- the clock

def parse_clock(value, name="nexus_clock_now"):
    """Epoch seconds from ``value``: epoch seconds (int, float or digits) or
    an ISO 8601 time (Z or an offset; a time without zone is UTC). None or
    an empty string means no override and returns None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ActivationError("%s: expected epoch seconds or an ISO 8601 UTC time such as 2026-11-28T10:30:00Z, "
                              "found %r" % (name, value))
    if isinstance(value, (int, float)):
        epoch = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        if re.match(r"^-?\d+(\.\d+)?$", text):
            epoch = float(text)
        else:
            try:
                epoch = parse_iso(text).timestamp()
            except ValueError:
                raise ActivationError("%s: %r is not epoch seconds or an ISO 8601 time; expected e.g. "
                                      "2026-11-28T10:30:00Z or 1795862400" % (name, text))
    # 2001..2200: catches milliseconds given as seconds and other slips.
    if not 978307200 <= epoch <= 7258118400:
        raise ActivationError("%s: %r is not a plausible time (expected epoch seconds between 2001 and 2200; "
                              "milliseconds?)" % (name, value))
    return epoch


TEST_CLOCK_ENVIRONMENTS = ("sandbox", "test")


def check_test_clock(clock, environment):
    """The test clock moves the 7-day gates: honoured only where the
    inventory says it is a sandbox or test environment. Raises
    ActivationError naming the variables otherwise."""
    if clock is None:
        return
    if environment not in TEST_CLOCK_ENVIRONMENTS:
        raise ActivationError(
            "nexus_clock_now is a test clock and this inventory is nexus_environment=%s: it is honoured only where "
            "the inventory sets nexus_environment to %s. To open a refused gate for real, give the reason: "
            "-e activation_force_reason=TEXT (nexusctl --force-reason TEXT), which is audited"
            % (environment or "unset", " or ".join(TEST_CLOCK_ENVIRONMENTS)))


# ---------------------------------------------------------------- documents

_MISSING = object()


def get_key(document, dotted):
    """The value at a dotted key, or _MISSING."""
    node = document
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def has_key(document, dotted):
    return get_key(document, dotted) is not _MISSING


def load_store(document, source="feature-flags.json", service_reading=False):
    """A flag_store.FlagStore from the parsed document the host returned;
    ``service_reading``: read as the platform's service does (the kill switch)."""
    text = json.dumps(document, indent=2)
    try:
        return (flag_store.service_loads if service_reading else flag_store.loads)(text, source)
    except flag_store.FlagError as exc:
        raise ActivationError(str(exc))


def gateway_state(store):
    """What the gateway serves for a flag store (gateway.served_state)."""
    return gateway.served_state(store.data)


# ---------------------------------------------------------------- plans

class Setting(object):
    """One PF value a plan sets. ``optional``: set only when the key exists
    in the file (the platform's PF files differ in detail)."""

    __slots__ = ("file", "key", "value", "optional")

    def __init__(self, file, key, value, optional=False):
        self.file = file
        self.key = key
        self.value = value
        self.optional = optional

    def __repr__(self):
        return "Setting(%s:%s=%r%s)" % (self.file, self.key, self.value, ", optional" if self.optional else "")


class Plan(object):
    """What an activation changes. ``key`` names it in the state file
    (marketplace_step_2, launch_global, emergency)."""

    def __init__(self, key, label, enable=(), disable=(), cascade=False, settings=(), notes=(),
                 expect_jurisdiction=None, limits=()):
        self.key = key
        self.label = label
        self.enable = list(enable)
        self.disable = list(disable)
        self.cascade = cascade
        self.settings = list(settings)
        self.notes = list(notes)
        self.expect_jurisdiction = expect_jurisdiction
        self.limits = list(limits)      # [(audience, dotted key, expected)]

    def settings_for(self, pfs):
        """{file: {key: value}} of the settings that apply to these PF
        documents; optional keys missing from a file are left out. Raises
        ActivationError for a missing required key or file."""
        out = {}
        for s in self.settings:
            document = pfs.get(s.file)
            if document is None:
                raise ActivationError("%s: the PF file could not be read; the %s changes it" % (s.file, self.label))
            if not has_key(document, s.key):
                if s.optional:
                    continue
                raise ActivationError("%s: key %s is missing; expected it (the %s sets it to %s)"
                                      % (s.file, s.key, self.label, json.dumps(s.value)))
            out.setdefault(s.file, {})[s.key] = s.value
        return out


def _marketplace_settings(step, live):
    m = "marketplace."
    table = {
        1: [Setting(MARKETPLACE_PF, m + "enabled", True),
            Setting(MARKETPLACE_PF, m + "progressive_access.founders.enabled", True)],
        2: [Setting(MARKETPLACE_PF, m + "trading_features.fixed_price_listings.enabled", True),
            Setting(MARKETPLACE_PF, m + "progressive_access.creators.enabled", True)],
        3: [Setting(MARKETPLACE_PF, m + "trading_features.peer_to_peer.enabled", True),
            Setting(MARKETPLACE_PF, m + "trading", True),
            Setting(MARKETPLACE_PF, m + "progressive_access.public.enabled", True),
            # The step's "transaction caps": the wallet limits stay on.
            Setting(MARKETPLACE_PF, "controls.wallet_limits.enabled", True, optional=True)],
        4: [Setting(MARKETPLACE_PF, "controls.transaction_monitoring.real_time_analysis", True, optional=True),
            Setting(MARKETPLACE_PF, "controls.transaction_monitoring.suspicious_activity_alerts", True,
                    optional=True),
            Setting(MARKETPLACE_PF, "controls.transaction_monitoring.compliance_reporting", True, optional=True),
            Setting(MARKETPLACE_PF, "controls.anti_wash_rules.enabled", True, optional=True)],
    }
    settings = list(table[step])
    if step == 4 and live:
        settings.append(Setting(MARKETPLACE_PF, m + "trading_features.auction_system.enabled", True))
    return settings


def marketplace_plan(step, store, daily_limits=None, cumulative=False):
    """Plan of marketplace Phase 3 step ``step`` (1..4). ``cumulative``:
    steps 1..step together (what "step N is in effect" means)."""
    if step not in STEPS:
        raise ActivationError("activation step %r: expected 1, 2, 3 or 4" % (step,))
    limits = dict(DEFAULT_DAILY_LIMITS, **(daily_limits or {}))
    live = store.access_mode() == "public_full"
    settings, checks = [], []
    for n in (range(1, step + 1) if cumulative else [step]):
        # Auctions belong to step 4 itself, never to "steps 1..N are in effect".
        settings.extend(_marketplace_settings(n, live and n == step and not cumulative))
        if n in STEP_AUDIENCE:
            audience = STEP_AUDIENCE[n]
            checks.append((audience, "marketplace.progressive_access.%s.daily_transaction_limit" % audience,
                           limits[audience]))
    notes = []
    if step == 4 and not live:
        notes.append("auctions stay off: marketplace.trading_features.auction_system opens only once Phase 4 is "
                     "live (access mode public_full, now %s); run step 4 again after the global launch"
                     % store.access_mode())
    return Plan("marketplace_step_%d" % step, "marketplace step %d" % step,
                enable=[PHASE2_FLAG, PHASE3_FLAG], settings=settings, notes=notes, limits=checks)


def launch_plan(mode):
    if mode not in LAUNCH_MODES:
        raise ActivationError("launch mode %r: expected global or soft" % (mode,))
    full = mode == "global"
    on, off = (FULL_FLAG, SOFT_FLAG) if full else (SOFT_FLAG, FULL_FLAG)
    g, t = GLOBAL_PF, TRANSITION_PF
    settings = [
        Setting(g, "feature_flags.public_signup", True),
        Setting(g, "feature_flags.founder_mode", False),
        Setting(g, "feature_flags.soft_launch_mode", not full),
        Setting(g, "feature_flags.full_public_mode", full),
        Setting(g, "feature_flags.component_visibility.signup_form", True, optional=True),
        Setting(g, "visibility_control.seo_enabled", True),
        Setting(t, "transition_phases.founder.active", False),
        Setting(t, "transition_phases.public_soft.active", not full),
        Setting(t, "transition_phases.public_full.active", full),
        Setting(t, "feature_flags.transition_control.founder_mode", False),
        Setting(t, "feature_flags.transition_control.soft_launch_mode", not full),
        Setting(t, "feature_flags.transition_control.full_public_mode", full),
    ]
    return Plan("launch_%s" % mode, "%s launch" % ("global" if full else "soft"),
                enable=[on, JURISDICTION_FLAG], disable=[FOUNDER_FLAG, off], settings=settings,
                expect_jurisdiction=True)


def emergency_plan(with_pf=True):
    """The kill switch: public signups off, new transactions frozen, founder
    mode, whatever the state. ``with_pf=False``: the flags only (what the
    gateway serves), for a host that cannot edit the PF files."""
    g, t, m = GLOBAL_PF, TRANSITION_PF, MARKETPLACE_PF
    settings = [
        Setting(g, "feature_flags.public_signup", False),
        Setting(g, "feature_flags.component_visibility.signup_form", False, optional=True),
        Setting(g, "feature_flags.founder_mode", True),
        Setting(g, "feature_flags.soft_launch_mode", False),
        Setting(g, "feature_flags.full_public_mode", False),
        Setting(t, "transition_phases.founder.active", True),
        Setting(t, "transition_phases.public_soft.active", False),
        Setting(t, "transition_phases.public_full.active", False),
        Setting(t, "feature_flags.transition_control.founder_mode", True),
        Setting(t, "feature_flags.transition_control.soft_launch_mode", False),
        Setting(t, "feature_flags.transition_control.full_public_mode", False),
        Setting(m, "marketplace.enabled", False),
        Setting(m, "marketplace.trading", False),
        Setting(m, "marketplace.trading_features.peer_to_peer.enabled", False),
        Setting(m, "marketplace.trading_features.fixed_price_listings.enabled", False),
        Setting(m, "marketplace.trading_features.auction_system.enabled", False),
    ]
    return Plan("emergency", "emergency switch", enable=[FOUNDER_FLAG],
                disable=[FULL_FLAG, SOFT_FLAG, PHASE3_FLAG], cascade=True, settings=settings if with_pf else ())


def emergency_flags(plan, store):
    """(enable, disable, notes): the switch's flags as this store (a service
    reading) allows them. A flag to turn off that is absent or not an object
    is off already as the service reads it; founder mode that cannot be
    turned on (absent, not an object, a requirement missing) is left, named:
    with the public flags off the gateway then serves ``none``, which is
    closed too. The public flags are never left on for it."""
    disable = [name for name in plan.disable if isinstance(store.flags.get(name), dict)]
    notes = []
    try:
        flag_store.plan_change(store, plan.enable, disable, with_dependencies=True, cascade=plan.cascade)
        return list(plan.enable), disable, notes
    except flag_store.FlagError as exc:
        notes.append("%s cannot be turned on (%s): the public flags are turned off all the same, and the gateway "
                     "serves access mode none (closed, not public)" % (", ".join(plan.enable), exc))
    return [], disable, notes


def truncate_reason(reason):
    """(text, details): the reason as recorded, cut to REASON_LIMIT_BYTES
    UTF-8 bytes, and the fields saying it was cut ({} when it was not)."""
    text = (reason or "").strip() or "not given"
    data = text.encode("utf-8")
    if len(data) <= REASON_LIMIT_BYTES:
        return text, {}
    cut = data[:REASON_LIMIT_BYTES].decode("utf-8", "ignore")
    return cut, {"reason_truncated": True, "reason_bytes": len(data)}


def flag_change(plan, store):
    """flag_store.Plan of the flag changes (empty when they hold). Raises
    ActivationError with the gateway's reason when the store refuses."""
    try:
        return flag_store.plan_change(store, plan.enable, plan.disable, with_dependencies=True,
                                      cascade=plan.cascade)
    except flag_store.FlagError as exc:
        raise ActivationError("%s cannot change the flags: %s" % (plan.label, exc))


def expected_state(plan, store):
    """What the gateway must report once the plan's flags are in the store."""
    change = flag_change(plan, store)
    after = load_store(flag_store.apply_plan(store, change), store.source, store.service_reading) \
        if change.changed else store
    state = gateway_state(after)
    # The flag count tells a gateway that serves nothing (a store it could
    # not parse at reload) from one that serves this store.
    expect = {"access_mode": state["access_mode"], "marketplace_phase": state["marketplace_phase"],
              "flags": state["flags"]}
    if plan.expect_jurisdiction is not None:
        expect["jurisdiction"] = state["jurisdiction"]
    return expect


def differences(plan, store, pfs):
    """What does not hold yet: ['flag X off, expected on', 'file: key is
    false, expected true']. Empty when the plan is in effect."""
    out = []
    for change in flag_change(plan, store):
        out.append("flag %s is %s, expected %s" % (change.name, "on" if change.before else "off",
                                                   "on" if change.after else "off"))
    for name, settings in sorted(plan.settings_for(pfs).items()):
        for key, value in settings.items():
            current = get_key(pfs[name], key)
            if current != value or type(current) is not type(value):
                out.append("%s: %s is %s, expected %s" % (name, key, json.dumps(current), json.dumps(value)))
    return out


# ---------------------------------------------------------------- recorded activations

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


# ---------------------------------------------------------------- the prepare run

# The one rule of when a run ended, by the record that opened it (the
# status, the gates and dead_runs_left all read summarize_run): a run with
# its opening record and none of its end records was cut off (killed, its
# connection lost). A run without DEPLOYMENT_START opens with its first
# record.
RUN_ENDS = (
    ("DEPLOYMENT_START", "DEPLOYMENT_COMPLETE"),    # a playbook run: prepare, activation, rollback, the kill switch
    ("GUARD_START", "GUARD_END"),                   # the launch guard on its own (guard.yml), canceled included
    ("ROLLBACK_START", "ROLLBACK_COMPLETE"),         # the host's rollback-<stamp>.sh
)
# Runs of one record, which ends them as it opens them: refused at the lock
# (it never started its stages: neither a failed run nor a cut-off one) and
# an unlock.
ONE_RECORD_RUNS = ("LOCK_REFUSED", "LOCK_BROKEN")


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
             % (run_id, what, _when(run.get("started")))]
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
                       _number(max_age_hours), hint), evidence)
        return None, evidence
    return ("no completed Phase 4 prepare run with prechecks found in %s; %s first" % (audit_dir, hint)), {}


def _when(epoch):
    return format_utc(epoch) if isinstance(epoch, (int, float)) and not isinstance(epoch, bool) else "?"


def _number(value):
    return ("%.2f" % value).rstrip("0").rstrip(".")


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

def check_launch_gates(gates, waivers):
    """(waived [(name, reason)], refusals [str], notes [str]) for
    global-launch.yaml launch_gates.required_validations and the run's
    launch_waivers {gate: reason}."""
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
            continue
        if isinstance(reason, str) and reason.strip():
            waived.append((name, reason.strip()))
            continue
        if name in waivers:
            continue    # empty reason, refused above
        refusals.append("launch gate %s is %s in %s launch_gates.required_validations; expected passed, or waive "
                        "it with a reason: -e '{\"launch_waivers\": {\"%s\": \"REASON\"}}' (nexusctl launch "
                        "--waive %s=REASON)" % (name, status, GLOBAL_PF, name, name))
    return waived, refusals, notes


# ---------------------------------------------------------------- decisions

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
            text += "; " + FORCE_HINT
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
        }


def _prepare(decision, facts, max_age_hours):
    refusal, evidence = check_prepare_run(facts.get("runs"), decision.now, max_age_hours,
                                          facts.get("audit_dir") or "the audit directory")
    if refusal:
        decision.refusals.append(refusal)
    elif evidence:
        decision.notes.append("Phase 4 prepare run %s passed (finished %s)"
                              % (evidence["run_id"], format_utc(evidence["completed"])))


def _common(decision, facts, plan, store, pfs):
    """Fill in the plan's concrete changes; a config the plan cannot apply
    to is a hard refusal."""
    try:
        decision.settings = plan.settings_for(pfs)
        decision.expect = expected_state(plan, store)
        decision.flag_changes = flag_change(plan, store).as_dicts()
        decision.differences = differences(plan, store, pfs)
    except ActivationError as exc:
        decision.hard_refusals.append(str(exc))
        return False
    return True


def facts_documents(facts, service_reading=False):
    """(FlagStore, {pf name: document}) from the host's facts, or raise."""
    store_facts = facts.get("flag_store") or {}
    if store_facts.get("error") or not isinstance(store_facts.get("document"), dict):
        raise ActivationError(store_facts.get("error") or "the flag store could not be read")
    store = load_store(store_facts["document"], store_facts.get("path") or "feature-flags.json", service_reading)
    pfs = {}
    for name, item in (facts.get("pfs") or {}).items():
        if isinstance(item, dict) and isinstance(item.get("document"), dict):
            pfs[name] = item["document"]
    return store, pfs


def _apply_force(decision, force_reason, gate):
    reason = (force_reason or "").strip()
    if not decision.refusals:
        if reason:
            decision.notes.append("activation_force_reason given, but the gate is open; nothing was forced")
        return
    if not reason:
        return
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


def check_host_clock(facts):
    """(hard refusal or None, forceable refusal or None) about the host's
    clock in ``facts``: the gates and the records they write use it only
    when it agrees with the controller's (``controller_clock``: {before,
    after, max_skew}, filled in by the action plugin) and is not earlier
    than the newest record in the trail (``newest_record``). A test clock
    does not exempt it: the records still carry the host's time."""
    host_now = facts.get("now")
    if host_now is None:
        return None, None
    hard = None
    controller = facts.get("controller_clock")
    if controller:
        hard = utc_time.clock_skew_problem(host_now, controller["before"], controller["after"],
                                           controller.get("max_skew", utc_time.DEFAULT_MAX_CLOCK_SKEW))
    soft = None
    newest = facts.get("newest_record")
    if hard is None and newest:
        # Forceable: with the host's clock agreeing with the controller's,
        # the record was dated by a clock that ran ahead, and waiting for
        # that date is not the only way on.
        soft = utc_time.record_time_problem(host_now, newest["time"], "seq %s %s in %s" % (
            newest.get("seq"), newest.get("event"), newest.get("file")))
    return hard, soft


def _host_clock(decision, facts):
    hard, soft = check_host_clock(facts)
    if hard:
        decision.hard_refusals.append(hard)
    if soft:
        decision.refusals.append(soft)


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
        decision.hard_refusals.append(str(exc))
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
            if found != expected:
                decision.refusals.append("%s: %s is %s; expected %s NexCoin for %s (activation_gate_daily_limits.%s)"
                                         % (MARKETPLACE_PF, key, json.dumps(None if found is _MISSING else found),
                                            expected, audience, audience))
        if step == 3:
            kyc = get_key(pfs.get(MARKETPLACE_PF, {}), "marketplace.progressive_access.public.kyc_level")
            if kyc != "basic":
                decision.refusals.append("%s: marketplace.progressive_access.public.kyc_level is %s; expected "
                                         "\"basic\"" % (MARKETPLACE_PF, json.dumps(None if kyc is _MISSING else kyc)))
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
    if prev is None:
        unverified = newest_entry(entries, prev_key)
        if unverified is not None and unverified.get("undone"):
            text = ("step %d needs step %d first: its recorded activation (run %s, applied %s) was %s"
                    % (step, step - 1, unverified.get("run_id"), _when(unverified.get("applied_at")),
                       undone_text(unverified)))
            if entry_in_effect(unverified, store, pfs):
                text += ("; the step %d changes in place now were made by a run that did not record them (cut "
                         "short before its record step): run step %d again to confirm and record them, or roll "
                         "them back" % (step - 1, step - 1))
            decision.refusals.append(text)
        elif unverified is not None:
            decision.refusals.append("step %d needs step %d first: its recorded activation (run %s) does not "
                                     "match the audit trail (%s)" % (step, step - 1, unverified.get("run_id"),
                                                                     unverified.get("audit_problem")))
        else:
            decision.refusals.append("step %d needs step %d first: no recorded activation of step %d"
                                     % (step, step - 1, step - 1))
        return
    try:
        missing = differences(marketplace_plan(step - 1, store, daily_limits, cumulative=True), store, pfs)
    except ActivationError as exc:
        missing = [str(exc)]
    if missing:
        decision.refusals.append("step %d (applied %s by run %s) is no longer in effect (%s); apply it again first"
                                 % (step - 1, format_utc(prev["applied_at"]), prev.get("run_id"),
                                    "; ".join(missing)))
        return
    if step in (2, 3):
        opens = prev["applied_at"] + wait_days * DAY
        if decision.now < opens:
            decision.refusals.append("step %d opens %s (%s days after step %d at %s)"
                                     % (step, format_utc(opens), _number(wait_days), step - 1,
                                        format_utc(prev["applied_at"])))


def evaluate_launch(mode, facts, confirm=False, check_approvals=None, waivers=None, clock_override=None,
                    force_reason="", prepare_max_age_hours=DEFAULT_PREPARE_MAX_AGE_HOURS):
    """Gate and plan of the Phase 4 launch (``mode`` global or soft).
    ``check_approvals(roles)`` returns (approved [{name, role}], problems
    [str]) for the roles the PF requires: the controller checks the
    approvers' secrets (plugin_utils/approvals.py); nothing here sees one."""
    plan = launch_plan(mode)
    now = clock_override if clock_override is not None else facts.get("now", time.time())
    decision = Decision(plan, now)
    _clock_event(decision, clock_override, facts.get("now"))
    _host_clock(decision, facts)
    if confirm is not True:
        decision.hard_refusals.append("the Phase 4 launch changes public access and needs an explicit "
                                      "confirmation: nexusctl launch --confirm, or -e nexus_launch_confirm=true")
    try:
        store, pfs = facts_documents(facts)
    except ActivationError as exc:
        decision.hard_refusals.append(str(exc))
        _gate_event(decision)
        return decision
    latest = latest_entries(facts.get("activations"))
    if _common(decision, facts, plan, store, pfs) and plan.key in latest and not decision.differences \
            and confirm is True:
        decision.already_applied = True
        decision.notes.insert(0, "%s already applied at %s by run %s; nothing to do"
                              % (plan.label, format_utc(latest[plan.key]["applied_at"]), latest[plan.key]["run_id"]))
        _gate_event(decision)
        return decision
    try:
        roles = required_roles(get_key(pfs.get(GLOBAL_PF, {}), "deployment.team_approval"))
    except ActivationError as exc:
        decision.hard_refusals.append(str(exc))
        roles = None
    if roles is not None:
        if check_approvals is None:
            approved, problems = [], ["the launch approvals cannot be checked here: no approvals checker"]
        else:
            try:
                approved, problems = check_approvals(roles)
            except ActivationError as exc:
                approved, problems = [], [str(exc)]
        decision.hard_refusals.extend(problems)
        for item in approved:
            decision.events.append(("LAUNCH_APPROVED", {"approver": item["name"], "role": item["role"]}))
        if approved:
            decision.entry_details["approvers"] = ",".join("%s:%s" % (a["name"], a["role"]) for a in approved)
    gates = get_key(pfs.get(GLOBAL_PF, {}), "launch_gates.required_validations")
    waived, refusals, notes = check_launch_gates(None if gates is _MISSING else gates, waivers)
    decision.hard_refusals.extend(refusals)
    decision.notes.extend(notes)
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


# ---------------------------------------------------------------- status

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
