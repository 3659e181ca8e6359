"""Runs as the audit trail tells them (module_utils/activation/runs.py):
when a run ended (RUN_ENDS), what a run cut short left behind, and whether
the newest Phase 4 prepare run passed recently enough. The state status
shows for a run (finished, running, unfinished) is activation_status._run_state."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import runs as activation_runs
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import status as activation_status
from ansible_collections.nexus_cos.launch.tests.unit.utils.activation_facts import T0, prepare_run


def test_prepare_run_search_skips_refused_and_other_runs():
    runs = [prepare_run(completed=None, started=None, status=None, playbook=None, run_id="refused-at-the-lock"),
            dict(prepare_run(run_id="activation"), kind="activation", playbook="marketplace"),
            prepare_run(precheck=None, run_id="skipped-the-prechecks"),
            prepare_run(run_id="good")]
    refusal, evidence = activation_runs.check_prepare_run(runs, T0, 24)
    assert refusal is None and evidence["run_id"] == "good"


# ---------------------------------------------------------------- when a run ended (RUN_ENDS)

def summary(kind, *records, run_id="20261128T103500Z-bbbbbb"):
    """A run's summary from its records [(event, fields)], a second apart, as read_runs makes it."""
    out = activation_runs.summarize_run([(event, fields, T0 - 600 + i, run_id) for i, (event, fields) in enumerate(records)])
    return dict(out, kind=kind, file="%s-%s.log" % (kind, run_id[:16]))


GUARD_START = ("GUARD_START", {"minutes": 15, "interval_s": 5, "on_critical": "switch"})


@pytest.mark.parametrize("outcome", ["clean", "canceled", "breach", "switch_pulled"])
def test_a_guard_that_wrote_guard_end_finished(outcome):
    run = summary("activation", GUARD_START, ("GUARD_BREACH", {"level": "critical"}),
                  ("GUARD_END", {"outcome": outcome, "looks": 3}))
    assert (run["playbook"], run["status"], run["completed"]) == ("guard", outcome, T0 - 598)
    assert activation_status._run_state(run, {})["state"] == "finished"
    assert activation_runs.dead_runs_left([run], {}) == []


def test_a_guard_without_guard_end_was_cut_off():
    run = summary("activation", GUARD_START)
    assert run["status"] is None and activation_status._run_state(run, {})["state"] == "unfinished"
    [lines] = activation_runs.dead_runs_left([run], {})
    assert lines[0] == ("run 20261128T103500Z-bbbbbb (guard, started 2026-11-28 10:30 UTC) never finished (no end "
                        "record: killed or cut off)")


def test_a_finished_guard_is_no_changing_run_that_settles_older_ones():
    cut = summary("activation", ("DEPLOYMENT_START", {"playbook": "marketplace"}), ("FLAGS_CHANGED", {}),
                  run_id="20261128T102000Z-cccccc")
    guard = summary("activation", GUARD_START, ("GUARD_END", {"outcome": "clean"}))
    [lines] = activation_runs.dead_runs_left([guard, cut], {})
    assert lines[0].startswith("run 20261128T102000Z-cccccc (marketplace, ")


def test_a_kill_switch_refused_at_the_lock_finished():
    # What emergency.pull writes when a live run holds the lock and it may not break it.
    run = summary("activation", ("LOCK_REFUSED", {"holder_run_id": "busy-run"}))
    assert (run["status"], run["refused_at_lock"]) == ("refused", True)
    assert activation_status._run_state(run, {})["state"] == "finished" and activation_runs.dead_runs_left([run], {}) == []


def test_a_switch_refused_then_let_take_over_a_dead_lock_and_cut_off_is_unfinished():
    # lock_holder.pull_switch's second try, same run id: refused first, then the lock taken over.
    run = summary("activation", ("LOCK_REFUSED", {}), ("LOCK_STALE_RECOVERED", {}),
                  ("DEPLOYMENT_START", {"playbook": "emergency"}), ("FLAGS_CHANGED", {}))
    assert run["status"] is None and run["refused_at_lock"] is False
    [lines] = activation_runs.dead_runs_left([run], {})
    assert "(emergency, started" in lines[0] and "never finished" in lines[0]


def test_a_prepare_run_refused_at_the_lock_neither_fails_nor_stands_for_a_prepare_run():
    refused = summary("deployment", ("LOCK_REFUSED", {"holder_run_id": "20261128T103000Z-other1"}))
    assert (refused["status"], refused["refused_at_lock"]) == ("refused", True)
    refusal, evidence = activation_runs.check_prepare_run([refused, prepare_run(run_id="good")], T0, 24)
    assert refusal is None and evidence["run_id"] == "good"
    assert activation_runs.dead_runs_left([refused], {}) == []


def test_a_prepare_run_cut_off_after_its_start_still_refuses_the_gate():
    cut = summary("deployment", ("LOCK_ACQUIRED", {}), ("DEPLOYMENT_START", {"playbook": "phase4"}),
                  ("PRECHECK_START", {}))
    refusal, evidence = activation_runs.check_prepare_run([cut, prepare_run(run_id="good")], T0, 24)
    assert refusal.startswith("the newest Phase 4 prepare run 20261128T103500Z-bbbbbb ") and "never finished" in refusal
    assert evidence["run_id"] == "20261128T103500Z-bbbbbb"


def test_a_killed_newest_prepare_run_does_not_let_an_older_one_open_step_1():
    runs = [prepare_run(completed=None, status=None, precheck=None, run_id="killed"), prepare_run(run_id="good")]
    refusal, evidence = activation_runs.check_prepare_run(runs, T0, 24)
    assert refusal.startswith("the newest Phase 4 prepare run killed (deployment-20261128T093000Z.log) started "
                              "2026-11-28 08:40 UTC and never finished (no DEPLOYMENT_COMPLETE: killed or cut off)")
    assert evidence["run_id"] == "killed"


def test_a_prepare_run_that_failed_before_its_prechecks_refuses_step_1():
    runs = [prepare_run(status="failed", precheck=None, run_id="failed-early"), prepare_run(run_id="good")]
    refusal, dummy = activation_runs.check_prepare_run(runs, T0, 24)
    assert "failed-early" in refusal and "failed before its prechecks finished" in refusal


def test_prepare_run_too_old():
    refusal, dummy = activation_runs.check_prepare_run([prepare_run(completed=T0 - 30 * 3600)], T0, 24)
    assert refusal == ("the newest passing Phase 4 prepare run 20261128T093000Z-aaaaaa finished 2026-11-27 04:40 UTC, "
                       "30 h before now; expected one within 24 h (activation_gate_prepare_max_age_hours); run "
                       "ansible-playbook playbooks/phase4.yml (nexusctl deploy) again")
    assert activation_runs.check_prepare_run([prepare_run(completed=T0 - 30 * 3600)], T0, 48)[0] is None


def test_summarize_run():
    records = [("DEPLOYMENT_START", {"playbook": "phase4"}, 100, "r1"),
               ("PRECHECK_COMPLETE", {"status": "pass"}, 150, "r1"),
               ("DEPLOYMENT_COMPLETE", {"status": "success"}, 200, "r1")]
    assert activation_runs.summarize_run(records) == {"run_id": "r1", "playbook": "phase4", "started": 100,
                                                      "completed": 200, "status": "success", "precheck_status": "pass", "left": [], "refused_at_lock": False}
