# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Each gate's verdict (module_utils/activation/gate.py), as a preview
(check mode) shows it: open, refused (and when it opens by itself), forced,
waived, or needed (what a real run is given that a preview is not). A real
run's decision is the same as without a preview."""

from __future__ import annotations

from passlib.hash import pbkdf2_sha256

from ansible_collections.nexus_cos.launch.plugins.module_utils import activation as act
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import gate
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import approvals
from ansible_collections.nexus_cos.launch.tests.unit.plugins.module_utils.activation.test_gate import after_step, entry
from ansible_collections.nexus_cos.launch.tests.unit.utils.activation_facts import T_STEP1, facts

DAY = 86400
APPROVERS = {"alice": {"role": "founder", "password_hash": pbkdf2_sha256.hash("alice-test-secret")},
             "bob": {"role": "technical_lead", "password_hash": pbkdf2_sha256.hash("bob-test-secret")},
             "carol": {"role": "technical_lead", "password_hash": pbkdf2_sha256.hash("carol-test-secret")}}
WAIVERS = {"security_audit": "booked for next week"}
CONFIRM = ("the Phase 4 launch changes public access and needs an explicit confirmation: nexusctl launch --confirm, "
           "or -e nexus_launch_confirm=true")


def verdicts(decision):
    return dict((g["gate"], (g["verdict"], g["reason"], g["opens"])) for g in decision.as_dict()["gates"])


def not_given(roles):
    raise act.ApprovalsNotGiven(approvals.approvals_needed(APPROVERS, roles))


def preview_launch(**kwargs):
    args = dict(confirm=False, waivers=WAIVERS, check_approvals=not_given)
    args.update(kwargs)
    return gate.evaluate_launch("global", dict(args.pop("facts", None) or facts(), preview=True), **args)


def test_a_launch_preview_needs_no_confirmation_and_no_approvals_and_says_what_a_real_run_needs():
    d = preview_launch()
    assert d.open, d.message()
    out = d.as_dict()
    assert out["needs"] == [
        "an explicit confirmation: nexusctl launch --confirm, or -e nexus_launch_confirm=true",
        "approvals by 2 distinct approvers (founder and technical_lead, as global-launch.yaml "
        "deployment.team_approval says), given with nexusctl launch --approver NAME for each: founder: alice; "
        "technical_lead: bob, carol"]
    v = verdicts(d)
    assert v["confirmation"][0] == "needed" and v["approvals"][0] == "needed"
    assert v["launch gate security_audit"] == ("waived", "pending in global-launch.yaml, waived: booked for next week",
                                               "")
    assert v["launch gate infrastructure_capacity"][0] == "open"
    assert v["prepare run"][0] == "open" and v["prepare run"][1].startswith("Phase 4 prepare run ")
    # The plan (the diffs a preview shows) is the real run's.
    assert out["enable"] == ["PUBLIC_FULL_LAUNCH_MODE", "JURISDICTION_ENGINE_ENABLED"]
    assert "test-secret" not in repr(out) and "pbkdf2" not in repr(out)


def test_without_preview_the_same_launch_is_refused_as_before():
    """A real run is given no preview: no confirmation and no approvals refuse it."""
    d = gate.evaluate_launch("global", facts(), confirm=False, waivers=WAIVERS)
    assert not d.open
    # Not even with approvals the checker says were not given, nor with a "preview" that is not true.
    for f in (facts(), dict(facts(), preview="yes")):
        refused = gate.evaluate_launch("global", f, confirm=False, waivers=WAIVERS, check_approvals=not_given)
        assert not refused.open and refused.as_dict()["needs"] == []
        assert refused.message().splitlines()[0] == CONFIRM
        assert refused.message().splitlines()[1].startswith("approvals by 2 distinct approvers")
    assert d.message().splitlines()[0] == CONFIRM
    assert "the launch approvals cannot be checked here: no approvals checker" in d.message()
    assert d.as_dict()["needs"] == []
    assert verdicts(d)["confirmation"] == ("refused", CONFIRM, "")


def test_a_preview_given_approvals_checks_them_as_a_real_run_does():
    d = preview_launch(confirm=True, check_approvals=lambda roles: approvals.verify_approvals(
        [{"name": "alice", "secret": "alice-test-secret"}], APPROVERS, roles))
    assert not d.open
    assert verdicts(d)["approvals"][0] == "refused"
    assert "verified 1 (alice)" in verdicts(d)["approvals"][1]
    assert d.as_dict()["needs"] == []


def test_a_preview_lists_the_launch_gates_a_real_run_needs_waived():
    d = preview_launch(waivers={})
    assert not d.open
    assert verdicts(d)["launch gate security_audit"][0] == "refused"
    assert d.as_dict()["needs"][-1] == ("a waiver with a reason for each launch gate not passed: security_audit "
                                        "(nexusctl launch --waive GATE=REASON)")


def step1_applied(now):
    store, pfs = after_step(1)
    return facts(store, pfs, [entry("marketplace_step_1", T_STEP1)], now=now)


def test_the_soak_time_of_step_2_says_when_it_opens():
    d = gate.evaluate_marketplace(2, step1_applied(T_STEP1 + 3 * DAY))
    v = verdicts(d)
    opens = gate.iso_utc(T_STEP1 + 7 * DAY)
    assert v["soak of 7 days after step 1"][0] == "refused"
    assert v["soak of 7 days after step 1"][2] == opens == "2026-12-05T10:30:00Z"
    assert v["step 1"][0] == "open"
    lines = d.as_dict()["verdict_lines"]
    assert [line for line in lines if line.startswith("REFUSED")] == [
        "REFUSED  soak of 7 days after step 1: step 2 opens %s (7 days after step 1 at %s) (opens by itself %s)"
        % (gate.format_utc(T_STEP1 + 7 * DAY), gate.format_utc(T_STEP1), opens)]


def test_a_forced_gate_says_so_and_an_elapsed_soak_is_open():
    f = step1_applied(T_STEP1 + 3 * DAY)
    d = gate.evaluate_marketplace(2, f, force_reason="the board agreed")
    assert d.open
    assert verdicts(d)["soak of 7 days after step 1"][0] == "forced"
    assert verdicts(d)["soak of 7 days after step 1"][1].endswith("(forced: the board agreed)")
    d = gate.evaluate_marketplace(2, f, clock_override=T_STEP1 + 8 * DAY)
    assert verdicts(d)["soak of 7 days after step 1"] == ("open", "elapsed %s" % gate.format_utc(T_STEP1 + 7 * DAY), "")


def test_verdict_lines():
    assert gate.verdict_lines([{"gate": "prepare run", "verdict": "refused", "reason": "no run\nfound", "opens": ""},
                               {"gate": "host clock", "verdict": "open", "reason": "", "opens": ""},
                               {"gate": "confirmation", "verdict": "needed", "reason": "--confirm", "opens": ""}],
                              ["an explicit confirmation"]) == [
        "REFUSED  prepare run: no run | found", "OPEN     host clock",
        "NEEDED   confirmation: not given to a preview; what a real run needs follows",
        "a real run needs an explicit confirmation"]
