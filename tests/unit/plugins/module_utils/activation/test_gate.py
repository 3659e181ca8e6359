"""Activation decisions (module_utils/activation/gate.py): the gates of
the marketplace steps and the launch, approvals, waivers, the emergency
switch's plan, and the status shown from the same facts. Facts are built
here the way module activation_info returns them; no host is involved."""

from __future__ import annotations

import copy

import pytest
from passlib.hash import pbkdf2_sha256, sha512_crypt

from ansible_collections.nexus_cos.launch.plugins.module_utils import activation as act
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import gate
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import runs as activation_runs
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import status as activation_status
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import approvals
from ansible_collections.nexus_cos.launch.tests.unit.utils.activation_facts import (
    T0, T_STEP1, facts, pf_docs, prepare_run, store_doc)

DAY = 86400


def entry(key, applied_at, verified=True, run_id="20261128T103000Z-bbbbbb"):
    return {"key": key, "applied_at": applied_at, "run_id": run_id, "audit_verified": verified,
            "audit_problem": None if verified else "no record seq 9 in activation-x.log"}


def after_step(step):
    """Flag store and PF documents as they are once steps 1..step ran."""
    store = store_doc(MARKETPLACE_PHASE2_ENABLED=True, MARKETPLACE_PHASE3_ENABLED=True)
    pfs = pf_docs()
    m = pfs["marketplace-phase3.yaml"]["marketplace"]
    m["enabled"] = True
    m["progressive_access"]["founders"]["enabled"] = True
    if step >= 2:
        m["trading_features"]["fixed_price_listings"]["enabled"] = True
        m["progressive_access"]["creators"]["enabled"] = True
    if step >= 3:
        m["trading_features"]["peer_to_peer"]["enabled"] = True
        m["trading"] = True
        m["progressive_access"]["public"]["enabled"] = True
    return store, pfs


# ---------------------------------------------------------------- marketplace gates

def test_step1_open_with_a_recent_passing_prepare_run():
    d = gate.evaluate_marketplace(1, facts())
    assert d.open and not d.already_applied
    assert d.as_dict()["enable"] == ["MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED"]
    assert d.settings == {"marketplace-phase3.yaml": {"marketplace.enabled": True,
                                                      "marketplace.progressive_access.founders.enabled": True}}
    assert d.expect == {"access_mode": "founder_beta", "marketplace_phase": 3, "flags": 6}
    assert [c["name"] for c in d.flag_changes] == ["MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED"]
    assert d.events[-1] == ("ACTIVATION_GATE", {"activation": "marketplace_step_1", "status": "open"})


def test_step1_refused_without_prepare_run():
    d = gate.evaluate_marketplace(1, facts(runs=[]))
    assert not d.open
    assert d.message() == ("no completed Phase 4 prepare run with prechecks found in /var/log/nexus-cos/phase4-audit; "
                           "run ansible-playbook playbooks/phase4.yml (nexusctl deploy) first; " + act.FORCE_HINT)
    assert d.events[-1][1]["status"] == "refused"


def test_step1_refused_when_newest_prepare_run_failed():
    runs = [prepare_run(status="failed", precheck="fail", run_id="new"), prepare_run(run_id="old")]
    d = gate.evaluate_marketplace(1, facts(runs=runs))
    assert "the newest Phase 4 prepare run new" in d.message()
    assert "PRECHECK_COMPLETE status=fail" in d.message()


def test_a_prepare_run_refused_at_the_lock_does_not_block_step_1():
    record = ("LOCK_REFUSED", {"holder_run_id": "20261128T103000Z-other1"}, T0 - 600, "20261128T103500Z-bbbbbb")
    refused = dict(activation_runs.summarize_run([record]), kind="deployment", file="deployment-20261128T103500Z.log")
    d = gate.evaluate_marketplace(1, facts(runs=[refused, prepare_run(run_id="good")]))
    assert d.open


def test_step2_refused_before_seven_days_with_the_open_date():
    store, pfs = after_step(1)
    f = facts(store, pfs, [entry("marketplace_step_1", T_STEP1)], now=T_STEP1 + 7 * DAY - 1)
    d = gate.evaluate_marketplace(2, f)
    assert d.message() == ("step 2 opens 2026-12-05 10:30 UTC (7 days after step 1 at 2026-11-28 10:30 UTC); "
                           "force it with -e activation_force_reason=TEXT")


def test_step2_opens_at_seven_days_and_with_an_injected_clock():
    store, pfs = after_step(1)
    f = facts(store, pfs, [entry("marketplace_step_1", T_STEP1)], now=T_STEP1 + 60)
    assert gate.evaluate_marketplace(2, dict(f, now=T_STEP1 + 7 * DAY)).open
    d = gate.evaluate_marketplace(2, f, clock_override=T_STEP1 + 8 * DAY)
    assert d.open
    assert d.events[0] == ("CLOCK_OVERRIDE", {"now": "2026-12-06T10:30:00Z", "host_now": "2026-11-28T10:31:00Z"})
    assert d.now == T_STEP1 + 8 * DAY


def test_wait_days_is_a_parameter():
    store, pfs = after_step(1)
    f = facts(store, pfs, [entry("marketplace_step_1", T_STEP1)], now=T_STEP1 + 2 * DAY)
    assert gate.evaluate_marketplace(2, f, wait_days=1).open
    assert "(3 days after step 1" in gate.evaluate_marketplace(2, f, wait_days=3).message()


def test_step3_counts_from_step2_and_step4_only_needs_step3():
    store, pfs = after_step(2)
    entries = [entry("marketplace_step_1", T_STEP1), entry("marketplace_step_2", T_STEP1 + 8 * DAY)]
    d = gate.evaluate_marketplace(3, facts(store, pfs, entries, now=T_STEP1 + 10 * DAY))
    assert d.message().startswith("step 3 opens 2026-12-13 10:30 UTC (7 days after step 2 at 2026-12-06 10:30 UTC)")
    store, pfs = after_step(3)
    entries.append(entry("marketplace_step_3", T_STEP1 + 15 * DAY))
    assert gate.evaluate_marketplace(4, facts(store, pfs, entries, now=T_STEP1 + 15 * DAY + 1)).open


def test_step_needs_the_previous_one_recorded():
    store, pfs = after_step(1)
    d = gate.evaluate_marketplace(2, facts(store, pfs, [], now=T0 + 30 * DAY))
    assert d.message() == "step 2 needs step 1 first: no recorded activation of step 1; " + act.FORCE_HINT


def test_the_operators_word_is_not_enough_the_audit_record_must_match():
    store, pfs = after_step(1)
    d = gate.evaluate_marketplace(2, facts(store, pfs, [entry("marketplace_step_1", T_STEP1, verified=False)],
                                           now=T0 + 30 * DAY))
    assert "does not match the audit trail (no record seq 9 in activation-x.log)" in d.message()


def test_previous_step_rolled_back_is_not_in_effect():
    store, pfs = after_step(0)[0], pf_docs()
    store = store_doc()   # flags back off: step 1 was rolled back
    d = gate.evaluate_marketplace(2, facts(store, pfs, [entry("marketplace_step_1", T_STEP1)], now=T0 + 30 * DAY))
    assert "step 1 (applied 2026-11-28 10:30 UTC by run 20261128T103000Z-bbbbbb) is no longer in effect" in d.message()
    assert "flag MARKETPLACE_PHASE3_ENABLED is off, expected on" in d.message()


UNDONE = {"by_run": "20261201T090000Z-rollbk", "at": T_STEP1 + 3 * DAY, "snapshot": "20261128T103000Z"}


def test_a_rolled_back_step_reapplied_without_a_record_does_not_open_the_next_gate():
    # Step 1 recorded, rolled back (the rollback marked it undone), then the
    # same flags re-applied by a run whose record step was killed: the flags
    # hold again and the old entry is the newest, but it no longer counts.
    store, pfs = after_step(1)
    undone = dict(entry("marketplace_step_1", T_STEP1), undone=UNDONE)
    d = gate.evaluate_marketplace(2, facts(store, pfs, [undone], now=T_STEP1 + 8 * DAY))
    assert not d.open
    assert d.message() == (
        "step 2 needs step 1 first: its recorded activation (run 20261128T103000Z-bbbbbb, applied 2026-11-28 10:30 "
        "UTC) was undone by rollback run 20261201T090000Z-rollbk on 2026-12-01 10:30 UTC (snapshot "
        "20261128T103000Z); the step 1 changes in place now were made by a run that did not record them (cut short "
        "before its record step): run step 1 again to confirm and record them, or roll them back; " + act.FORCE_HINT)


def test_an_undone_step_with_its_changes_gone_just_needs_applying_again():
    undone = dict(entry("marketplace_step_1", T_STEP1), undone=UNDONE)
    d = gate.evaluate_marketplace(2, facts(store_doc(), pf_docs(), [undone], now=T_STEP1 + 8 * DAY))
    assert d.message().startswith("step 2 needs step 1 first: its recorded activation (run 20261128T103000Z-bbbbbb, "
                                  "applied 2026-11-28 10:30 UTC) was undone by rollback run 20261201T090000Z-rollbk")
    assert "did not record them" not in d.message()


def test_a_step_recorded_again_after_its_undo_counts_from_the_new_record():
    store, pfs = after_step(1)
    entries = [dict(entry("marketplace_step_1", T_STEP1), undone=UNDONE),
               entry("marketplace_step_1", T_STEP1 + 5 * DAY, run_id="20261203T103000Z-cccccc")]
    d = gate.evaluate_marketplace(2, facts(store, pfs, entries, now=T_STEP1 + 8 * DAY))
    assert d.message().startswith("step 2 opens 2026-12-10 10:30 UTC (7 days after step 1 at 2026-12-03 10:30 UTC)")


def test_an_undone_step_is_not_already_applied():
    store, pfs = after_step(1)
    d = gate.evaluate_marketplace(1, facts(store, pfs, [dict(entry("marketplace_step_1", T_STEP1), undone=UNDONE)]))
    assert d.open and not d.already_applied


def test_force_needs_a_reason_and_is_audited():
    store, pfs = after_step(1)
    f = facts(store, pfs, [entry("marketplace_step_1", T_STEP1)], now=T_STEP1 + DAY)
    assert not gate.evaluate_marketplace(2, f, force_reason="   ").open
    d = gate.evaluate_marketplace(2, f, force_reason=" creators onboarded early ")
    assert d.open
    forced = [e for e in d.events if e[0] == "GATE_FORCED"]
    assert forced == [("GATE_FORCED", {"gate": "marketplace_step_2", "reason": "creators onboarded early",
                                       "refusal": "step 2 opens 2026-12-05 10:30 UTC (7 days after step 1 at "
                                                  "2026-11-28 10:30 UTC)"})]
    assert d.entry_details["forced_reason"] == "creators onboarded early"


def test_force_reason_on_an_open_gate_forces_nothing():
    d = gate.evaluate_marketplace(1, facts(), force_reason="because")
    assert d.open and not d.forced
    assert not [e for e in d.events if e[0] == "GATE_FORCED"]


def test_already_applied_step_is_a_no_op_even_when_its_gate_would_refuse():
    store, pfs = after_step(1)
    d = gate.evaluate_marketplace(1, facts(store, pfs, [entry("marketplace_step_1", T_STEP1)], runs=[]))
    assert d.open and d.already_applied and not d.flag_changes and not d.differences
    assert d.notes[0].startswith("marketplace step 1 already applied at 2026-11-28 10:30 UTC")


def test_flags_holding_without_a_record_are_applied_and_recorded():
    store, pfs = after_step(1)
    d = gate.evaluate_marketplace(1, facts(store, pfs, []))
    assert d.open and not d.already_applied and not d.differences


def test_daily_limit_must_match_the_table():
    pfs = pf_docs()
    pfs["marketplace-phase3.yaml"]["marketplace"]["progressive_access"]["founders"]["daily_transaction_limit"] = 8000
    d = gate.evaluate_marketplace(1, facts(pfs=pfs))
    assert d.message().startswith("marketplace-phase3.yaml: marketplace.progressive_access.founders."
                                  "daily_transaction_limit is 8000; expected 10000 NexCoin for founders "
                                  "(activation_gate_daily_limits.founders)")
    assert gate.evaluate_marketplace(1, facts(pfs=pfs), daily_limits={"founders": 8000}).open


def test_step3_needs_basic_kyc():
    store, pfs = after_step(2)
    pfs["marketplace-phase3.yaml"]["marketplace"]["progressive_access"]["public"]["kyc_level"] = "none"
    entries = [entry("marketplace_step_1", T_STEP1), entry("marketplace_step_2", T_STEP1 + 8 * DAY)]
    d = gate.evaluate_marketplace(3, facts(store, pfs, entries, now=T_STEP1 + 16 * DAY))
    assert "kyc_level is \"none\"; expected \"basic\"" in d.message()


def test_step3_settings():
    store, pfs = after_step(2)
    entries = [entry("marketplace_step_1", T_STEP1), entry("marketplace_step_2", T_STEP1 + 8 * DAY)]
    d = gate.evaluate_marketplace(3, facts(store, pfs, entries, now=T_STEP1 + 16 * DAY))
    assert d.open
    assert d.settings["marketplace-phase3.yaml"] == {
        "marketplace.trading_features.peer_to_peer.enabled": True, "marketplace.trading": True,
        "marketplace.progressive_access.public.enabled": True, "controls.wallet_limits.enabled": True}


def test_step4_leaves_auctions_off_until_phase4_is_live():
    store, pfs = after_step(3)
    entries = [entry("marketplace_step_%d" % n, T_STEP1 + n * 8 * DAY) for n in (1, 2, 3)]
    d = gate.evaluate_marketplace(4, facts(store, pfs, entries, now=T_STEP1 + 40 * DAY))
    assert d.open and "auction_system.enabled" not in str(d.settings)
    assert any(n.startswith("auctions stay off") for n in d.notes)
    store["feature_flags"]["PUBLIC_FULL_LAUNCH_MODE"]["enabled"] = True
    d = gate.evaluate_marketplace(4, facts(store, pfs, entries, now=T_STEP1 + 40 * DAY))
    assert d.settings["marketplace-phase3.yaml"] == {"marketplace.trading_features.auction_system.enabled": True}
    assert d.expect == {"access_mode": "public_full", "marketplace_phase": 3, "flags": 6}


def test_unknown_step_and_phase():
    with pytest.raises(act.ActivationError, match="expected 1, 2, 3 or 4"):
        gate.evaluate_marketplace(5, facts())
    with pytest.raises(act.ActivationError, match="only Phase 3 has progressive steps"):
        gate.evaluate_marketplace(1, facts(), phase=4)


def test_required_pf_key_missing_is_a_hard_refusal():
    pfs = pf_docs()
    del pfs["marketplace-phase3.yaml"]["marketplace"]["progressive_access"]["founders"]["enabled"]
    d = gate.evaluate_marketplace(1, facts(pfs=pfs))
    assert d.message().startswith("marketplace-phase3.yaml: key marketplace.progressive_access.founders.enabled is "
                                  "missing; expected it")
    assert act.FORCE_HINT not in d.message()


def test_unreadable_flag_store_refuses():
    f = facts()
    f["flag_store"] = {"path": "/x/feature-flags.json", "document": None, "error": "/x/feature-flags.json: invalid JSON"}
    assert gate.evaluate_marketplace(1, f).message() == "/x/feature-flags.json: invalid JSON"


# ---------------------------------------------------------------- approvals

def approvers(**extra):
    table = {"alice": {"role": "founder", "password_hash": pbkdf2_sha256.hash("alice-test-secret")},
             "bob": {"role": "technical_lead", "password_hash": pbkdf2_sha256.hash("bob-test-secret")},
             "carol": {"role": "technical_lead", "password_hash": sha512_crypt.using(rounds=5000).hash(
                 "carol-test-secret")}}
    table.update(extra)
    return table


ROLES = ["founder", "technical_lead"]
ALICE = {"name": "alice", "secret": "alice-test-secret"}
BOB = {"name": "bob", "secret": "bob-test-secret"}


def test_required_roles_from_the_pf():
    assert gate.required_roles("founder_and_technical_lead") == ROLES
    assert gate.required_roles("cto") == ["cto"]
    with pytest.raises(act.ActivationError, match="deployment.team_approval"):
        gate.required_roles("")


def test_two_distinct_approvers_with_both_roles():
    approved, problems = approvals.verify_approvals([ALICE, BOB], approvers(), ROLES)
    assert problems == []
    assert approved == [{"name": "alice", "role": "founder"}, {"name": "bob", "role": "technical_lead"}]


def test_sha512_crypt_hash_is_accepted():
    approved, problems = approvals.verify_approvals([ALICE, {"name": "carol", "secret": "carol-test-secret"}],
                                                    approvers(), ROLES)
    assert problems == [] and approved[1] == {"name": "carol", "role": "technical_lead"}


def test_one_approver_is_not_enough():
    approved, problems = approvals.verify_approvals([ALICE], approvers(), ROLES)
    assert approved == []
    assert problems == [
        "the launch needs approvals by 2 distinct approvers (founder and technical_lead, as global-launch.yaml "
        "deployment.team_approval says); verified 1 (alice)",
        "no verified approval from a technical_lead (approvers holding that role: bob, carol)"]


def test_the_same_approver_twice_counts_once():
    dummy, problems = approvals.verify_approvals([ALICE, ALICE], approvers(), ROLES)
    assert "approver alice is given twice; the approvals must come from distinct people" in problems


def test_wrong_secret():
    dummy, problems = approvals.verify_approvals([ALICE, dict(BOB, secret="guess")], approvers(), ROLES)
    assert "approver bob: the secret does not match nexus_launch_approvers.bob.password_hash" in problems
    assert not any("guess" in p for p in problems)


def test_unknown_approver_and_missing_secret():
    dummy, problems = approvals.verify_approvals([ALICE, {"name": "mallory", "secret": "x"}, {"name": "bob"}],
                                                 approvers(), ROLES)
    assert "approver mallory is not in nexus_launch_approvers (known: alice, bob, carol)" in problems
    assert "approver bob: no secret given" in problems


def test_two_approvers_with_the_same_role_do_not_cover_both_roles():
    dummy, problems = approvals.verify_approvals([BOB, {"name": "carol", "secret": "carol-test-secret"}], approvers(), ROLES)
    assert "no verified approval from a founder (approvers holding that role: alice)" in problems


def test_one_person_holding_both_roles_still_needs_a_second_approver():
    table = approvers(dave={"roles": ["founder", "technical_lead"], "password_hash": pbkdf2_sha256.hash("d")})
    dummy, problems = approvals.verify_approvals([{"name": "dave", "secret": "d"}], table, ROLES)
    assert problems[0].startswith("the launch needs approvals by 2 distinct approvers")
    approved, problems = approvals.verify_approvals([{"name": "dave", "secret": "d"}, ALICE], table, ROLES)
    assert problems == [] and approved == [{"name": "alice", "role": "founder"},
                                           {"name": "dave", "role": "technical_lead"}]


@pytest.mark.parametrize("bad_hash", ["alice-test-secret", "$1$abc$def", "{SSHA}xyz", "$pbkdf2-sha256$broken"])
def test_hash_formats_that_are_not_accepted(bad_hash):
    table = approvers(alice={"role": "founder", "password_hash": bad_hash})
    dummy, problems = approvals.verify_approvals([ALICE, BOB], table, ROLES)
    assert any(p.startswith("nexus_launch_approvers.alice.password_hash: ") for p in problems)
    assert not any("alice-test-secret" in p for p in problems)


def test_malformed_approver_entries():
    table = approvers(alice={"password_hash": "x"})
    dummy, problems = approvals.verify_approvals([ALICE, BOB], table, ROLES)
    assert "nexus_launch_approvers.alice: expected {role: ROLE, password_hash: HASH}" in problems
    dummy, problems = approvals.verify_approvals([ALICE, BOB], {}, ROLES)
    assert problems[0].startswith("nexus_launch_approvers is empty")
    dummy, problems = approvals.verify_approvals("alice", approvers(), ROLES)
    assert problems == ["nexus_launch_approvals: expected a list of {name, secret}"]


# ---------------------------------------------------------------- waivers

GATES = [{"name": "infrastructure_capacity", "status": "passed"}, {"name": "security_audit", "status": "pending"},
         {"name": "compliance_review", "status": "waived"}]


def test_pending_gate_needs_a_waiver():
    waived, refusals, dummy = gate.check_launch_gates(GATES, {})
    assert waived == []
    assert refusals[0] == ("launch gate security_audit is pending in global-launch.yaml launch_gates."
                           "required_validations; expected passed, or waive it with a reason: -e '{\"launch_waivers\": "
                           "{\"security_audit\": \"REASON\"}}' (nexusctl launch --waive security_audit=REASON)")
    assert len(refusals) == 2      # a PF "waived" without our reason is not enough


def test_waivers_with_reasons():
    waivers = {"security_audit": "external audit booked", "compliance_review": " legal signed ",
               "infrastructure_capacity": "not needed"}
    waived, refusals, notes = gate.check_launch_gates(GATES, waivers)
    assert refusals == []
    assert waived == [("security_audit", "external audit booked"), ("compliance_review", "legal signed")]
    assert notes == ["launch gate infrastructure_capacity has passed; its waiver is not needed"]


def test_waiver_for_an_unknown_gate_or_without_reason():
    dummy, refusals, dummy = gate.check_launch_gates(GATES, {"securty_audit": "typo", "security_audit": " ",
                                                             "compliance_review": "ok"})
    assert refusals == [
        "launch_waivers.security_audit: the reason is empty; give the reason in words",
        "launch_waivers names securty_audit, which is not a launch gate in global-launch.yaml (gates: "
        "infrastructure_capacity, security_audit, compliance_review)"]
    assert gate.check_launch_gates(GATES, ["security_audit"])[1][0].startswith("launch_waivers: expected a mapping")


# ---------------------------------------------------------------- the launch

def launch(mode="global", **kwargs):
    args = dict(confirm=True, approvals=[ALICE, BOB], approvers=approvers(),
                waivers={"security_audit": "booked for next week"})
    args.update(kwargs)
    f = args.pop("facts", None) or facts()
    given, known = args.pop("approvals"), args.pop("approvers")
    args["check_approvals"] = lambda roles: approvals.verify_approvals(given, known, roles)
    return gate.evaluate_launch(mode, f, **args)


def test_global_launch_plan():
    d = launch()
    assert d.open, d.message()
    out = d.as_dict()
    assert out["enable"] == ["PUBLIC_FULL_LAUNCH_MODE", "JURISDICTION_ENGINE_ENABLED"]
    assert out["disable"] == ["FOUNDER_BETA_MODE", "PUBLIC_SOFT_LAUNCH_MODE"]
    assert d.expect == {"access_mode": "public_full", "marketplace_phase": 0, "jurisdiction": True, "flags": 6}
    assert d.settings["global-launch.yaml"]["feature_flags.component_visibility.signup_form"] is True
    assert d.settings["founder-public-transition.yaml"]["transition_phases.public_full.active"] is True
    events = [e for e, dummy in d.events]
    assert events == ["LAUNCH_APPROVED", "LAUNCH_APPROVED", "LAUNCH_GATE_WAIVED", "ACTIVATION_GATE"]
    assert d.entry_details == {"approvers": "alice:founder,bob:technical_lead", "waived": "security_audit"}
    assert "secret" not in repr(d.events) and "alice-test-secret" not in repr(d.as_dict())


def test_soft_launch_plan():
    d = launch("soft")
    assert d.expect["access_mode"] == "public_soft"
    assert d.settings["global-launch.yaml"]["feature_flags.soft_launch_mode"] is True
    assert d.settings["global-launch.yaml"]["feature_flags.full_public_mode"] is False


def test_optional_signup_form_key_is_left_out_when_absent():
    pfs = pf_docs()
    del pfs["global-launch.yaml"]["feature_flags"]["component_visibility"]
    d = launch(facts=facts(pfs=pfs))
    assert d.open and "feature_flags.component_visibility.signup_form" not in d.settings["global-launch.yaml"]


def test_launch_without_confirm_cannot_be_forced():
    d = launch(confirm=False, force_reason="hurry")
    assert d.message() == ("the Phase 4 launch changes public access and needs an explicit confirmation: nexusctl "
                           "launch --confirm, or -e nexus_launch_confirm=true")


def test_launch_refusals_are_listed_together():
    d = launch(approvals=[ALICE], waivers={}, facts=facts(runs=[]))
    msg = d.message()
    assert "verified 1 (alice)" in msg and "launch gate security_audit is pending" in msg
    assert "no completed Phase 4 prepare run" in msg and act.FORCE_HINT not in msg
    assert not [e for e in d.events if e[0] in ("LAUNCH_APPROVED", "LAUNCH_GATE_WAIVED")]


def test_launch_prepare_gate_alone_can_be_forced():
    d = launch(facts=facts(runs=[]))
    assert d.message().endswith(act.FORCE_HINT)
    assert launch(facts=facts(runs=[]), force_reason="prechecks ran on the standby").open


def test_launch_already_applied():
    store = store_doc(FOUNDER_BETA_MODE=False, PUBLIC_FULL_LAUNCH_MODE=True, JURISDICTION_ENGINE_ENABLED=True)
    pfs = pf_docs()
    d = launch()
    for name, settings in d.settings.items():
        for key, value in settings.items():
            node = pfs[name]
            parts = key.split(".")
            for part in parts[:-1]:
                node = node[part]
            node[parts[-1]] = value
    again = launch(approvals=[], facts=facts(store, pfs, [entry("launch_global", T0 - 10)]))
    assert again.open and again.already_applied


# ---------------------------------------------------------------- emergency

@pytest.mark.parametrize("flags, from_mode", [
    (dict(FOUNDER_BETA_MODE=False, PUBLIC_FULL_LAUNCH_MODE=True, MARKETPLACE_PHASE2_ENABLED=True,
          MARKETPLACE_PHASE3_ENABLED=True), "public_full"),
    (dict(FOUNDER_BETA_MODE=False, PUBLIC_SOFT_LAUNCH_MODE=True), "public_soft"),
    (dict(FOUNDER_BETA_MODE=False), "none"),
])
def test_emergency_from_any_state(flags, from_mode):
    d = gate.evaluate_emergency(facts(store_doc(**flags)), reason="fraud wave")
    assert d.open
    assert d.expect["access_mode"] == "founder_beta"
    assert d.expect["marketplace_phase"] in (0, 2)
    assert d.entry_details == {"from_mode": from_mode, "reason": "fraud wave"}
    assert d.settings["global-launch.yaml"]["feature_flags.public_signup"] is False
    assert d.settings["marketplace-phase3.yaml"]["marketplace.trading"] is False


def test_emergency_when_already_in_emergency_state():
    store = store_doc()
    pfs = pf_docs()
    d = gate.evaluate_emergency(facts(store, pfs))
    assert d.open and d.differences == [] and d.notes[0].startswith("the emergency state already holds")


# ---------------------------------------------------------------- status

def test_status_summary():
    store, pfs = after_step(1)
    f = facts(store, pfs, [entry("marketplace_step_1", T_STEP1)], now=T_STEP1 + DAY)
    s = activation_status.status_summary(f)
    assert s["step"] == 1 and s["marketplace_phase"] == 3 and s["access_mode"] == "founder_beta"
    assert s["gates"] == [{"step": 2, "opens": T_STEP1 + 7 * DAY, "state": "opens 2026-12-05 10:30 UTC"}]
    assert s["flags"]["MARKETPLACE_PHASE3_ENABLED"] is True


def test_status_reports_a_tampered_entry():
    f = facts(activations=[entry("marketplace_step_1", T_STEP1, verified=False)])
    s = activation_status.status_summary(copy.deepcopy(f))
    assert s["step"] == 0 and "does not match the audit trail" in s["problems"][0]
