# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The gates use the host's clock only after checking it against the
controller's and against the newest record of the audit trail."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import gate

from ansible_collections.nexus_cos.launch.tests.unit.utils.activation_facts import T0, facts

DAY = 86400


def clocked(host_now, controller=T0, newest=None, max_skew=120):
    out = facts(now=host_now)
    out["controller_clock"] = {"before": controller - 1, "after": controller, "max_skew": max_skew}
    out["newest_record"] = newest
    return out


def test_a_host_clock_16_days_ahead_is_refused_naming_both_times_and_the_skew():
    d = gate.evaluate_marketplace(1, clocked(T0 + 16 * DAY))
    assert not d.open
    assert d.hard_refusals == [
        "the host's clock reads 2026-12-14 10:40:00 UTC and the controller's 2026-11-28 10:40:00 UTC: the host is "
        "1382400 s (16.0 days) ahead, beyond the allowed skew of 120 s; sync the host's clock (timedatectl / "
        "chrony), then run again"]


def test_a_host_clock_behind_is_refused_and_a_force_reason_does_not_open_it():
    d = gate.evaluate_marketplace(1, clocked(T0 - 300), force_reason="in a hurry")
    assert not d.open and not d.forced
    assert d.hard_refusals == [
        "the host's clock reads 2026-11-28 10:35:00 UTC and the controller's 2026-11-28 10:39:59 UTC: the host is "
        "299 s behind, beyond the allowed skew of 120 s; sync the host's clock (timedatectl / chrony), then run "
        "again"]


def test_the_launch_gate_checks_the_clock_too():
    d = gate.evaluate_launch("global", clocked(T0 + 3600), confirm=True, check_approvals=lambda roles: ([], []))
    assert any("the host is 3600 s (1.0 h) ahead" in r for r in d.hard_refusals)


def test_a_host_clock_within_the_skew_is_accepted():
    assert gate.evaluate_marketplace(1, clocked(T0 + 119)).open
    assert gate.evaluate_marketplace(1, clocked(T0 - 120)).open


def test_the_skew_is_a_parameter():
    assert not gate.evaluate_marketplace(1, clocked(T0 + 30, max_skew=10)).open


def test_a_test_clock_does_not_exempt_the_host_clock():
    d = gate.evaluate_marketplace(1, clocked(T0 + 16 * DAY), clock_override=T0)
    assert not d.open and "16.0 days" in d.hard_refusals[0]


def test_a_host_clock_before_the_newest_record_is_refused_naming_the_record():
    newest = {"file": "activation-20261209T103000Z.log", "seq": 41, "event": "ACTIVATION_GATE",
              "time": T0 + 11 * DAY}
    d = gate.evaluate_marketplace(1, clocked(T0, newest=newest))
    assert not d.open
    assert d.refusals == [
        "the host's clock reads 2026-11-28 10:40:00 UTC, 950400 s (11.0 days) before the newest audit record "
        "(seq 41 ACTIVATION_GATE in activation-20261209T103000Z.log, dated 2026-12-09 10:40:00 UTC): records would "
        "go backwards in time; sync the host's clock (timedatectl / chrony), then run again. If the host's clock "
        "is right, that record was written by a clock that ran ahead (nexusctl audit verify lists the records out "
        "of time order)"]
    # With both clocks agreeing, the record is the one that is wrong: an audited force goes on.
    forced = gate.evaluate_marketplace(1, clocked(T0, newest=newest), force_reason="record dated ahead")
    assert forced.open and forced.events[-2][0] == "GATE_FORCED"


def test_a_record_a_few_seconds_ahead_is_within_the_tolerance():
    newest = {"file": "deployment-20261128T104000Z.log", "seq": 3, "event": "DEPLOYMENT_START", "time": T0 + 5}
    assert gate.evaluate_marketplace(1, clocked(T0, newest=newest)).open


def test_facts_without_the_controller_clock_are_decided_as_before():
    assert gate.evaluate_marketplace(1, facts()).open


def test_the_emergency_switch_is_never_held_back_by_the_clock():
    d = gate.evaluate_emergency(clocked(T0 + 16 * DAY))
    assert not d.hard_refusals
