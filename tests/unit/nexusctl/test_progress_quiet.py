"""nexusctl's progress at default verbosity: one line per stage; argument
validation, planning and the run's facts only at -v; a failure of any of
them always."""

from __future__ import annotations

import io

from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import Progress

RUN = (
    ("runner_on_ok", "Validating arguments against arg spec 'main' - Run id", "ansible.builtin.validate_argument_spec"),
    ("runner_on_ok", "Stop if an extra var sets a pinned variable or carries a secret", "nexus_cos.launch.pinned_vars"),
    ("runner_on_ok", "Set the run id and UTC stamp", "ansible.builtin.set_fact"),
    ("runner_on_ok", "Plan the prechecks", "nexus_cos.launch.precheck_plan"),
    ("runner_on_ok", "Take the deployment lock", "nexus_cos.launch.deploy_lock"),
    ("runner_on_skipped", "Say that the lock of a run that is gone was recovered", "ansible.builtin.debug"),
    ("runner_on_ok", "Run the prechecks on the host", "nexus_cos.launch.precheck"),
)


def shown(verbose, events=RUN):
    out = io.StringIO()
    progress = Progress(stream=out, verbose=verbose)
    for kind, task, action in events:
        progress({"event": kind, "event_data": {"host": "vps1", "task": task, "task_action": action,
                                                "resolved_action": action, "res": {"msg": "no"}}})
    return [line.split(None, 2)[2] for line in out.getvalue().splitlines() if not line.startswith(" ")]


def test_default_verbosity_shows_the_stages_only():
    assert shown(0) == ["Take the deployment lock", "Run the prechecks on the host"]


def test_verbose_shows_validation_planning_and_skips():
    assert shown(1) == [task for dummy, task, dummy in RUN]


def test_a_failed_validation_is_always_shown():
    failed = [("runner_on_failed", "Plan the prechecks", "nexus_cos.launch.precheck_plan")]
    assert shown(0, failed)[0] == "Plan the prechecks"
