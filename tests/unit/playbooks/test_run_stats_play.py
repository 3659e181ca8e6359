"""The finish role's run stats, which AWX/AAP keep as the job's artifacts:
run id, status and the snapshot's scripts by the paths the snapshot module
returned, read from the JSON callback's global custom stats. They ride on
the controller_report task the role already runs, not a task of their own."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.tests.unit.utils.play_target import STEP_1

STAMP_TASK = "Set the run id and UTC stamp"


def snapshot_result(tasks):
    [result] = [r for r in tasks.values() if isinstance(r, dict) and "rollback_script" in r and "emergency_script" in r]
    return result


def test_a_run_publishes_its_id_status_and_scripts(target):
    rc, tasks = target.play("marketplace.yml", *STEP_1)
    assert rc == 0, tasks
    facts = tasks[STAMP_TASK]["ansible_facts"]
    run = target.stats["nexus_cos_run"]
    assert run["run_id"] == facts["nexus_run_id"] and run["playbook"] == "marketplace"
    host = run["hosts"]["testhost"]
    snapshot = snapshot_result(tasks)
    assert host["status"] == "success" and host["check_mode"] is False
    assert host["rollback_script"] == snapshot["rollback_script"]
    assert host["emergency_script"] == snapshot["emergency_script"]
    assert host["audit_log"] == "%s/activation-%s.log" % (target.audit_dir, facts["nexus_run_stamp"])
    assert host["summary"] == "%s/artifacts/%s/summary-testhost.txt" % (target.host, facts["nexus_run_id"])
    assert list(target.stats) == ["nexus_cos_run"]          # one key: a workflow's next node gets it as one extra var


def test_a_refused_run_publishes_its_failure(target):
    rc, tasks = target.play("marketplace.yml", "-e", "marketplace_step_number=1")
    assert rc == 2
    host = target.stats["nexus_cos_run"]["hosts"]["testhost"]
    assert host["status"] == "failed"
    assert host["rollback_script"] is None and host["emergency_script"] is None    # no snapshot was taken


def test_a_pinned_variable_stops_the_run_before_it_has_an_id_and_it_publishes_nothing(target):
    # No run id, no record: the job fails with the refusal and carries no artifact.
    rc, tasks = target.play("marketplace.yml", "-e", "nexus_environment=production")
    assert rc == 2
    assert target.stats == {}


def test_the_stats_take_no_task_of_their_own(target):
    rc, tasks = target.play("marketplace.yml", *STEP_1)
    assert rc == 0, tasks
    assert not [name for name in tasks if "stats" in name.lower() and "controller" not in name.lower()]
    [report] = [r for name, r in tasks.items() if name.startswith("Keep the summary")]
    assert report["ansible_stats"]["data"]["nexus_cos_run"]["run_id"] == tasks[STAMP_TASK]["ansible_facts"]["nexus_run_id"]


def test_a_check_mode_run_publishes_its_stats_and_says_it_was_a_check(target):
    before = target.bytes()
    rc, tasks = target.play("marketplace.yml", "--check", *STEP_1)
    assert rc == 0, tasks
    assert target.bytes() == before
    host = target.stats["nexus_cos_run"]["hosts"]["testhost"]
    assert host["status"] == "success" and host["check_mode"] is True
