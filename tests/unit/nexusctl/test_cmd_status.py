# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""`nexusctl status` tells the truth: a rollback made by the host's
rollback-<stamp>.sh shows finished with its status; a public access mode
with no recorded launch is a PROBLEM; what could not be read is shown as
unknown, not as "not in effect"; a run without an end record is running
only while it holds the lock."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import cmd_status
from ansible_collections.nexus_cos.launch.plugins.module_utils import rollback_cli, snapshot
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import runs as activation_runs
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import record as activation_record

T0 = 1795861800   # 2026-11-28 10:30:00 UTC


def flag(enabled, requires=()):
    return {"enabled": enabled, "requires": list(requires)}


def store(mode="founder_beta"):
    return {"version": "1", "updated": "2026-01-01T00:00:00Z", "feature_flags": {
        "MARKETPLACE_PHASE2_ENABLED": flag(False), "MARKETPLACE_PHASE3_ENABLED": flag(False),
        "FOUNDER_BETA_MODE": flag(mode == "founder_beta"), "PUBLIC_SOFT_LAUNCH_MODE": flag(mode == "public_soft"),
        "PUBLIC_FULL_LAUNCH_MODE": flag(mode == "public_full"), "JURISDICTION_ENGINE_ENABLED": flag(False)}}


def entry(key, applied_at=T0, run_id="r1", verified=True):
    return {"key": key, "applied_at": applied_at, "run_id": run_id, "audit_verified": verified,
            "audit_problem": None if verified else "no record seq 7 in activation-x.log"}


def facts(mode="founder_beta", activations=(), runs=(), lock=None, **extra):
    out = {"now": T0 + 3600, "flag_store": {"document": store(mode)}, "pfs": {},
           "activations": list(activations), "runs": list(runs), "lock": lock or {"holder": None, "gone_reason": None}}
    out.update(extra)
    return out


def problems(text):
    return [line.split("PROBLEM", 1)[1].strip() for line in text.splitlines() if line.startswith("  PROBLEM")]


def row(text, label):
    return [line[len(label) + 3:].strip() for line in text.splitlines() if line.startswith("  " + label + " ")]


# ---------------------------------------------------------------- launch and access mode

@pytest.mark.parametrize("mode, launch", [("public_full", "global"), ("public_soft", "soft")])
def test_public_access_without_a_recorded_launch_is_a_problem(mode, launch):
    text = cmd_status.render("vps1", facts(mode))
    assert row(text, "launch") == ["none recorded, yet the access mode is %s (see PROBLEM)" % mode]
    assert "not launched" not in text
    [problem] = problems(text)
    assert problem.startswith("the access mode is %s but no %s launch is recorded: the flags were switched by "
                              "hand or the record was lost" % (mode, launch))
    assert "nexusctl rollback --emergency --reason TEXT" in problem
    assert "nexusctl launch --mode %s --confirm" % launch in problem


def test_public_access_with_only_the_other_launch_recorded_is_a_problem():
    text = cmd_status.render("vps1", facts("public_soft", [entry("launch_global")]))
    assert row(text, "launch") == ["global, applied 2026-11-28 10:30 UTC by run r1 (not in effect now)"]
    assert problems(text)[0].startswith("the access mode is public_soft but no soft launch is recorded")


def test_recorded_launch_in_effect_is_no_problem():
    text = cmd_status.render("vps1", facts("public_full", [entry("launch_global")]))
    assert row(text, "launch") == ["global, applied 2026-11-28 10:30 UTC by run r1"]
    assert problems(text) == []


def test_founder_mode_without_launch_is_not_launched():
    text = cmd_status.render("vps1", facts())
    assert row(text, "launch") == ["not launched"] and problems(text) == []


def test_a_launch_record_that_fails_its_audit_check_is_one_problem_not_two():
    text = cmd_status.render("vps1", facts("public_full", [entry("launch_global", verified=False)]))
    assert problems(text) == ["state entry launch_global of run r1 does not match the audit trail: no record seq 7 "
                              "in activation-x.log"]


def test_unreadable_activation_state_is_a_problem():
    error = "/var/lib/x/activation-state.json: cannot read the activation state (bad JSON)"
    text = cmd_status.render("vps1", facts(state_error=error))
    assert problems(text) == ["recorded activations unknown: " + error]


def test_unreadable_flag_store_makes_in_effect_unknown():
    f = facts(activations=[entry("launch_global"), entry("emergency", T0 + 60, "r2")])
    f["flag_store"] = {"document": None, "error": "feature-flags.json: not JSON"}
    text = cmd_status.render("vps1", f)
    unknown = "(in effect: unknown, the flag store or a PF file could not be read)"
    assert row(text, "launch") == ["global, applied 2026-11-28 10:30 UTC by run r1 " + unknown]
    assert row(text, "emergency switch") == ["pulled 2026-11-28 10:31 UTC by run r2 " + unknown]
    assert "not in effect" not in text
    assert problems(text) == ["feature-flags.json: not JSON"]


def test_emergency_switch_not_in_effect_once_the_mode_is_public():
    text = cmd_status.render("vps1", facts("public_full", [entry("emergency", T0, "r2"),
                                                           entry("launch_global", T0 + 60, "r3")]))
    assert row(text, "emergency switch") == ["pulled 2026-11-28 10:30 UTC by run r2 (not in effect now)"]
    assert problems(text) == []


# ---------------------------------------------------------------- runs

def summaries(audit_dir):
    return activation_record.read_runs(str(audit_dir), 30)


@pytest.fixture
def rolled_back(tmp_path):
    """A real rollback by the host's script: rollback_cli.main restore, as
    rollback-<stamp>.sh runs it, with audit dir and lock."""
    flags = tmp_path / "feature-flags.json"
    flags.write_text(json.dumps(store()))
    snapshot.take([str(flags)], str(tmp_path / "backups"), "20261128T103000Z-aaaaaa", "20261128T103000Z")
    flags.write_text(json.dumps(store("public_full")))
    snapshot.record_after(str(tmp_path / "backups" / "20261128T103000Z"))
    return tmp_path


def restore(tmp_path, *extra):
    return rollback_cli.main(["restore", "--snapshot", str(tmp_path / "backups" / "20261128T103000Z"),
                              "--audit-dir", str(tmp_path / "audit"), "--lock", str(tmp_path / "deploy.lock"),
                              "--run-id", "20261128T120000Z-bbbbbb"] + list(extra))


def test_a_rollback_by_the_host_script_shows_finished(rolled_back, capsys):
    assert restore(rolled_back) == 0
    [run] = summaries(rolled_back / "audit")
    assert (run["kind"], run["playbook"], run["status"], run["run_id"]) == (
        "rollback", "rollback.sh", "success", "20261128T120000Z-bbbbbb")
    assert run["completed"] is not None
    text = cmd_status.render("vps1", facts(runs=[run]))
    [line] = [line for line in text.splitlines() if "20261128T120000Z-bbbbbb" in line]
    assert line.split()[3:] == ["rollback", "rollback.sh", "success", "20261128T120000Z-bbbbbb"]


def test_a_refused_rollback_by_the_host_script_shows_refused(rolled_back, capsys):
    (rolled_back / "feature-flags.json").write_text(json.dumps(store("public_soft")))   # someone else's change
    assert restore(rolled_back) == 1
    [run] = summaries(rolled_back / "audit")
    assert (run["playbook"], run["status"]) == ("rollback.sh", "refused")


def test_a_host_script_refused_the_lock_shows_refused(rolled_back, capsys):
    with open(rolled_back / "deploy.lock", "w") as handle:
        json.dump({"run_id": "other", "pid": os.getpid(), "host": os.uname().nodename, "user": "ops",
                   "acquired": T0, "expires": 2 ** 31}, handle)
    assert restore(rolled_back) == 1
    [run] = summaries(rolled_back / "audit")
    assert (run["status"], run["completed"] is not None) == ("refused", True)


def test_an_unlock_run_shows_finished():
    summary = activation_runs.summarize_run([("LOCK_BROKEN", {"previous_run": "r1", "reason": "gone"}, T0, "r2")])
    assert (summary["playbook"], summary["status"], summary["started"], summary["completed"]) == (
        "unlock", "success", T0, T0)


def test_a_playbook_rollback_keeps_its_own_end_record():
    records = [("LOCK_ACQUIRED", {}, T0, "r9"), ("DEPLOYMENT_START", {"playbook": "rollback"}, T0 + 1, "r9"),
               ("ROLLBACK_START", {"via": "ansible"}, T0 + 2, "r9"),
               ("ROLLBACK_COMPLETE", {"status": "success"}, T0 + 3, "r9")]
    # Killed after the restore, before DEPLOYMENT_COMPLETE: the run did not finish.
    assert activation_runs.summarize_run(records)["status"] is None
    records.append(("DEPLOYMENT_COMPLETE", {"status": "success"}, T0 + 4, "r9"))
    summary = activation_runs.summarize_run(records)
    assert (summary["playbook"], summary["status"], summary["started"], summary["completed"]) == (
        "rollback", "success", T0 + 1, T0 + 4)


HOLDER = {"run_id": "r5", "user": "ops", "controller": "ctl1", "pid": 4242}


@pytest.mark.parametrize("controller, holder, pid_alive, shown, lock_row", [
    # Started from this controller: its pid says whether it still runs.
    ("ctl1", HOLDER, True, "running", "held by run r5 (user ops)"),
    ("ctl1", HOLDER, False, "unfinished",
     "held by run r5 (user ops), holder gone: its ansible-playbook (pid 4242 on this controller, ctl1) has exited"),
    # From another controller, within its lease: nothing here can tell.
    ("ctl2", HOLDER, None, "unfinished", "held by run r5 (user ops)"),
    # The lock is another run's, or free.
    ("ctl1", dict(HOLDER, run_id="r6"), True, "unfinished", "held by run r6 (user ops)"),
    ("ctl1", None, None, "unfinished", "free"),
])
def test_a_run_without_end_record_is_running_only_while_its_process_is_seen(controller, holder, pid_alive, shown,
                                                                            lock_row):
    run = {"kind": "activation", "playbook": "marketplace", "started": T0, "completed": None, "status": None,
           "run_id": "r5"}
    seen = facts(runs=[run], lock={"holder": holder, "gone_reason": None})
    seen = cmd_status.controller_view(seen, hostname=controller,
                                      alive=lambda pid: pid_alive if pid_alive is not None else pytest.fail("asked"))
    text = cmd_status.render("vps1", seen)
    [line] = [line for line in text.splitlines() if line.endswith(" r5")]
    assert line.split()[5] == shown
    assert row(text, "deployment lock") == [lock_row]
    assert "running?" not in text


def test_a_lock_the_host_already_knows_is_gone_is_left_as_it_is():
    seen = facts(lock={"holder": HOLDER, "gone_reason": "lease ended 2026-11-28 11:00 UTC"})
    assert cmd_status.controller_view(seen, hostname="ctl1", alive=lambda pid: pytest.fail("asked")) is seen


# ---------------------------------------------------------------- what the gateway serves

def served(mode="founder_beta", flags=6, phase=0, jurisdiction=False):
    return {"seen": {"access_mode": mode, "flags": flags, "flags_http": "HTTP 200", "marketplace_phase": phase,
                     "marketplace_http": "HTTP 200" if phase else "HTTP 503", "jurisdiction": jurisdiction,
                     "jurisdiction_http": "HTTP 200" if jurisdiction else "HTTP 503"}, "msg": ""}


def test_the_gateway_serving_the_flag_store_is_shown_and_no_problem():
    text = cmd_status.render("vps1", facts(gateway=served()))
    assert row(text, "gateway serves") == ["access mode founder_beta, 6 flags (HTTP 200), marketplace phase 0 "
                                           "(HTTP 503), jurisdiction engine off (HTTP 503)"]
    assert problems(text) == []


def test_a_gateway_behind_the_file_is_a_problem_with_the_fix():
    text = cmd_status.render("vps1", facts(gateway=served(mode="public_full")))
    [problem] = problems(text)
    assert problem.startswith("the gateway serves access mode public_full, 6 flags (HTTP 200)")
    assert "but the flag store gives access mode founder_beta, marketplace phase 0, jurisdiction engine off, 6 " \
           "flags. it has not reread the flag store since the file changed: reload it" in problem


def test_a_gateway_serving_no_flags_says_why():
    text = cmd_status.render("vps1", facts(gateway=served(mode="none", flags=0)))
    [problem] = problems(text)
    assert "The gateway serves no flags at all (currentMode none, the PF health endpoints 503): the platform's " \
           "flag service does this when it could not parse the flag store at its last reload; the flag store parses " \
           "now, so reload the gateway (curl -X POST <gateway>/api/feature-flags/reload)" in problem


def test_a_gateway_that_does_not_answer_is_a_problem():
    answer = {"seen": {"access_mode": None, "flags": None, "flags_http": "no answer (connection refused)",
                       "unreachable": "connection refused"}, "msg": ""}
    text = cmd_status.render("vps1", facts(gateway=answer))
    assert problems(text) == ["the gateway does not answer (connection refused): check that it runs (systemctl "
                              "status, docker ps) and read its log"]


# ---------------------------------------------------------------- what a dead run left

def killed_step(*events, run_id="20261128T103000Z-dead01"):
    """The summary of a marketplace run killed after ``events``."""
    records = [("LOCK_ACQUIRED", {}, T0, run_id), ("DEPLOYMENT_START", {"playbook": "marketplace"}, T0, run_id)]
    records += [(event, {}, T0 + 1, run_id) for event in events]
    return dict(activation_runs.summarize_run(records), kind="activation", file="activation-20261128T103000Z.log")


GONE = {"holder": {"run_id": "20261128T103000Z-dead01", "user": "ops", "controller": "ctl1", "pid": 4242},
        "gone_reason": "its ansible-playbook (pid 4242 on this controller, ctl1) has exited"}


def test_status_says_a_killed_step_left_its_change_applied_but_not_confirmed():
    run = killed_step("SNAPSHOT_CREATED", "FLAGS_CHANGED", "PF_SETTINGS_CHANGED")
    [problem] = problems(cmd_status.render("vps1", facts(runs=[run], lock=GONE)))
    assert problem == (
        "run 20261128T103000Z-dead01 (marketplace, started 2026-11-28 10:30 UTC) never finished (no end record: "
        "killed or cut off); its deployment lock is still on the host, its holder gone (its ansible-playbook (pid "
        "4242 on this controller, ctl1) has exited): the next run from that controller takes it over, else nexusctl "
        "unlock --reason TEXT; it wrote its change (FLAGS_CHANGED, PF_SETTINGS_CHANGED) but never confirmed nor "
        "recorded it: the change is applied but NOT confirmed, and no gate counts it. Roll it back: nexusctl "
        "rollback 20261128T103000Z-dead01 (on the host, no controller: sudo <audit dir>/nexus-rollback-20261128T103000Z"
        ".sh); or run the same command again to confirm and record it")


def test_the_next_gate_says_the_lock_was_recovered_and_what_is_left():
    run = killed_step("SNAPSHOT_CREATED", "FLAGS_CHANGED")
    now = {"holder": {"run_id": "20261128T113000Z-next02"}, "gone_reason": None}
    [lines] = activation_runs.dead_runs_left([run], now, current_run="20261128T113000Z-next02")
    assert lines[1] == "its deployment lock was recovered (released or taken over since)"
    assert lines[2].startswith("it wrote its change (FLAGS_CHANGED) but never confirmed nor recorded it")


def test_a_killed_run_whose_change_was_rolled_back_or_recorded_has_nothing_to_undo():
    for events in (("FLAGS_CHANGED", "ACTIVATION_ROLLED_BACK"), ("FLAGS_CHANGED", "ACTIVATION_STEP_APPLIED")):
        [lines] = activation_runs.dead_runs_left([killed_step(*events)], GONE)
        assert lines[-1].endswith("nothing to undo")


def test_a_rollback_cut_short_says_to_run_it_again():
    records = [("LOCK_ACQUIRED", {}, T0, "r9"), ("DEPLOYMENT_START", {"playbook": "rollback"}, T0, "r9"),
               ("ROLLBACK_START", {"snapshot": "20261128T103000Z", "via": "ansible"}, T0 + 1, "r9"),
               ("ROLLBACK_FILE_RESTORED", {"path": "/x"}, T0 + 1, "r9")]
    run = dict(activation_runs.summarize_run(records), kind="rollback")
    assert activation_runs.dead_runs_left([run], {"holder": None})[0][-1] == (
        "it was restoring snapshot 20261128T103000Z (some files restored) and was cut off: run that rollback again to "
        "finish it (nexusctl rollback 20261128T103000Z); files already restored are left as they are")


def test_a_finished_changing_run_after_the_dead_one_clears_it():
    finished = {"kind": "activation", "playbook": "marketplace", "started": T0 + 60, "completed": T0 + 90,
                "status": "success", "run_id": "r7", "left": ["FLAGS_CHANGED", "ACTIVATION_STEP_APPLIED"]}
    assert activation_runs.dead_runs_left([finished, killed_step("FLAGS_CHANGED")], GONE) == []
    prepare = dict(finished, kind="deployment", playbook="phase4")
    assert activation_runs.dead_runs_left([prepare, killed_step("FLAGS_CHANGED")], GONE) != []


def test_a_run_that_may_still_run_is_not_called_dead():
    alive = dict(GONE, gone_reason=None, alive=True)
    assert activation_runs.dead_runs_left([killed_step("FLAGS_CHANGED")], alive) == []
    assert problems(cmd_status.render("vps1", facts(runs=[killed_step("FLAGS_CHANGED")], lock=alive))) == []


def test_every_run_cut_short_since_the_last_finished_change_is_said_newest_first():
    older = killed_step("SNAPSHOT_CREATED", "FLAGS_CHANGED", run_id="20261128T103000Z-dead01")
    newer = dict(killed_step("SNAPSHOT_CREATED", "FLAGS_CHANGED", run_id="20261128T104000Z-dead02"),
                 started=T0 + 600)
    lock = {"holder": {"run_id": "20261128T104000Z-dead02"}, "gone_reason": "its ansible-playbook has exited"}
    runs = activation_runs.dead_runs_left([newer, older], lock)
    assert [lines[0].split()[1] for lines in runs[:2]] == ["20261128T104000Z-dead02", "20261128T103000Z-dead01"]
    assert runs[1][1] == "its deployment lock was recovered (released or taken over since)"
    assert runs[-1] == [
        "2 runs were cut short with a change applied but not confirmed: roll them back newest first (each "
        "rollback restores the state before its run, which holds the older run's change): nexusctl rollback "
        "20261128T104000Z-dead02, then nexusctl rollback 20261128T103000Z-dead01"]
    said = problems(cmd_status.render("vps1", facts(runs=[newer, older], lock=lock)))
    assert len(said) == 3 and said[0].startswith("run 20261128T104000Z-dead02") \
        and said[1].startswith("run 20261128T103000Z-dead01") and said[2].startswith("2 runs were cut short")


def test_runs_cut_short_before_the_last_finished_change_are_not_said():
    older = killed_step("FLAGS_CHANGED", run_id="20261128T103000Z-dead01")
    finished = {"kind": "rollback", "playbook": "rollback", "started": T0 + 60, "completed": T0 + 90,
                "status": "success", "run_id": "r7", "left": ["ROLLBACK_START", "ACTIVATION_ROLLED_BACK"]}
    newer = dict(killed_step("FLAGS_CHANGED", run_id="20261128T104000Z-dead02"), started=T0 + 600)
    runs = activation_runs.dead_runs_left([newer, finished, older], GONE)
    assert [lines[0].split()[1] for lines in runs] == ["20261128T104000Z-dead02"]


def test_the_gate_lists_every_run_cut_short_and_no_order_line_for_one_change():
    prepare = dict(killed_step(run_id="20261128T103000Z-prep01"), kind="deployment", playbook="phase4")
    step = dict(killed_step("FLAGS_CHANGED", run_id="20261128T104000Z-dead02"), started=T0 + 600)
    runs = activation_runs.dead_runs_left([step, prepare], {"holder": None}, current_run="20261128T113000Z-next02")
    assert len(runs) == 2 and runs[1][-1] == "it changed no flag or PF value"


def test_many_runs_cut_short_are_said_up_to_a_limit():
    many = [dict(killed_step("FLAGS_CHANGED", run_id="20261128T1%02d000Z-dead%02d" % (i, i)), started=T0 + 60 * i)
            for i in range(9, 0, -1)]
    runs = activation_runs.dead_runs_left(many, {"holder": None})
    assert len(runs) == activation_runs.DEAD_RUNS_SHOWN + 2
    assert runs[activation_runs.DEAD_RUNS_SHOWN] == [
        "and 4 older runs cut short, not listed here (their records are in the audit directory's "
        "activation-*.log and rollback-*.log; roll the newest back first)"]


def test_a_run_refused_at_the_lock_after_the_dead_one_does_not_hide_it():
    # Another controller tried while the dead run's lock was still held: refused,
    # it changed nothing, so what the dead run left is still to be said.
    refused = dict(activation_runs.summarize_run([("LOCK_REFUSED", {"holder": "20261128T103000Z-dead01"}, T0 + 60,
                                                   "20261128T103100Z-other1")]), kind="activation")
    assert refused["status"] == "refused"
    [lines] = activation_runs.dead_runs_left([refused, killed_step("FLAGS_CHANGED")], GONE)
    assert lines[0].startswith("run 20261128T103000Z-dead01 ")


def test_a_failed_activation_after_the_dead_one_does_not_hide_it():
    # Rolled back to its own snapshot, which holds the dead run's change.
    failed = {"kind": "activation", "playbook": "marketplace", "started": T0 + 60, "completed": T0 + 90,
              "status": "failed", "run_id": "20261128T103100Z-other2",
              "left": ["SNAPSHOT_CREATED", "FLAGS_CHANGED", "ACTIVATION_ROLLED_BACK"]}
    [lines] = activation_runs.dead_runs_left([failed, killed_step("FLAGS_CHANGED")], GONE)
    assert lines[0].startswith("run 20261128T103000Z-dead01 ")


# ---------------------------------------------------------------- the on-host scripts

def test_status_names_our_newest_scripts_never_the_platforms(tmp_path):
    """activation_info reads them with audit_log.newest_scripts: the
    platform's newer rollback-YYYYmmdd-HHMMSS.sh is not ours."""
    from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log
    for name in ("nexus-rollback-20261128T103000Z.sh", "nexus-emergency-20261128T103000Z.sh",
                 "rollback-20261201-000000.sh"):
        (tmp_path / name).write_text("#!/bin/bash\n")
    text = cmd_status.render("vps1", facts(scripts=audit_log.newest_scripts(str(tmp_path))))
    assert row(text, "on-host rollback") == ["sudo %s" % (tmp_path / "nexus-rollback-20261128T103000Z.sh")]
    assert row(text, "on-host switch") == ["sudo %s" % (tmp_path / "nexus-emergency-20261128T103000Z.sh")]
    assert "rollback-20261201-000000.sh" not in text


def test_status_without_scripts_names_none():
    assert "on-host" not in cmd_status.render("vps1", facts())
