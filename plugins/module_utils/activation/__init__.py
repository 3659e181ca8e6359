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

This face holds the constants every part shares, and ActivationError; the
work is done by one module per job, which import one way (a module imports
only those above it in this list, and the face):

* ``clock``: the test clock and the host's clock;
* ``plan``: what a step, the launch or the switch changes, and what does
  not hold yet;
* ``facts``: the flag store and PF documents as the host reads them;
* ``ledger``: the recorded activations (state file entries) the gates believe;
* ``runs``: when a run ended, what a run cut short left, the prepare run;
* ``gate``: the decisions (Decision, evaluate_marketplace, evaluate_launch,
  evaluate_emergency);
* ``status``: what ``nexusctl status`` shows;
* ``change``, ``record``, ``emergency``: on the host, the change written,
  the state file kept, the kill switch pulled.
"""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils import operator_hints

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


def force_hint(who=operator_hints.ANSIBLE):
    """How a forceable refusal is forced, in the words of ``who`` (the run's driver)."""
    return "force it with %s" % operator_hints.hint("force", who)


FORCE_HINT = force_hint()
APPLIED_EVENT = "ACTIVATION_STEP_APPLIED"
EMERGENCY_EVENT = "EMERGENCY_SWITCH"
# The reason kept in an emergency's record and entry: a reason of any size
# is cut to this many UTF-8 bytes, so the record (one audit line) is written.
REASON_LIMIT_BYTES = 1024


class ActivationError(ValueError):
    """An input that cannot be used (bad clock, unknown step, malformed
    variable). The message names the variable and what was expected."""


class ApprovalsNotGiven(ActivationError):
    """A preview was given no approvals: the message says what a real run
    needs (roles and who holds them, names only)."""


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
