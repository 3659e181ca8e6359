# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""What an activation changes, worked out from the documents with no I/O:
the plans of the marketplace steps, the launch and the emergency switch
(flags to enable and disable in one write of the flag store, PF settings
per file), what the gateway must report once they are written, and what
does not hold yet."""

from __future__ import annotations

import json

from ansible_collections.nexus_cos.launch.plugins.module_utils import flag_store, gateway
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import (
    DEFAULT_DAILY_LIMITS, FOUNDER_FLAG, FULL_FLAG, GLOBAL_PF, JURISDICTION_FLAG, LAUNCH_MODES, MARKETPLACE_PF, PHASE2_FLAG,
    PHASE3_FLAG, REASON_LIMIT_BYTES, SOFT_FLAG, STEP_AUDIENCE, STEPS, TRANSITION_PF, ActivationError)


MISSING = object()


def get_key(document, dotted):
    """The value at a dotted key, or MISSING."""
    node = document
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def has_key(document, dotted):
    return get_key(document, dotted) is not MISSING


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

    def __init__(self, key, label, enable=(), disable=(), cascade=False, settings=(), notes=(), limits=()):
        self.key = key
        self.label = label
        self.enable = list(enable)
        self.disable = list(disable)
        self.cascade = cascade
        self.settings = list(settings)
        self.notes = list(notes)
        self.limits = list(limits)      # [(audience, dotted key, expected)]

    @property
    def expect_jurisdiction(self):
        """True when the plan turns the jurisdiction engine on: the gateway
        must then report it; None when the plan leaves it as it is."""
        return True if JURISDICTION_FLAG in self.enable else None

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
                enable=[on, JURISDICTION_FLAG], disable=[FOUNDER_FLAG, off], settings=settings)


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
