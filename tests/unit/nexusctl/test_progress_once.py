"""nexusctl's progress says each precheck line once: the failed precheck
task shows the table and each failure with its fix; the run's summary and
its final failure, which repeat them, add only what is new."""

from __future__ import annotations

import io

from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import Progress, runner_environment

TABLE = ["      #   check             sev         ms  result",
         "PASS  04  disk              error        4  72.1 GiB free where 5.0 GiB needed",
         "FAIL  06  repository        error        0  repository directory /opt/nexus-cos does not exist"]
FAILURES = ["vps1: precheck 06 repository failed: repository directory /opt/nexus-cos does not exist",
            "    fix: clone the Nexus COS repository there, or set nexus_repo_dir to where it is",
            "    skip it: -e '{\"precheck_skip\": [\"repository\"]}'   or downgrade it: -e '{\"precheck_warn_only\": "
            "[\"repository\"]}'"]
WHERE = ["run r1: FAILED", "audit log (host): /var/log/nexus-cos/audit/deployment-x.log"]


def event(kind, task, action, res):
    return {"event": kind, "event_data": {"host": "vps1", "task": task, "task_action": action,
                                          "resolved_action": action, "res": res}}


def test_each_precheck_line_is_said_once():
    out = io.StringIO()
    progress = Progress(stream=out)
    progress(event("runner_on_failed", "Run the prechecks", "nexus_cos.launch.precheck",
                   {"msg": FAILURES, "failures": FAILURES, "table": TABLE, "summary": {}}))
    progress(event("runner_on_ok", "Say how the run ended", "ansible.builtin.debug", {"msg": TABLE + WHERE}))
    progress(event("runner_on_failed", "Fail the run with what failed", "ansible.builtin.fail",
                   {"msg": ["failed at: Run the prechecks"] + FAILURES}))
    text = out.getvalue()
    for line in TABLE + FAILURES + WHERE + ["failed at: Run the prechecks"]:
        assert text.count(line) == 1, (line, text)
    # The table leads, as the console callback shows it.
    assert text.index(TABLE[-1]) < text.index(FAILURES[0]) < text.index(WHERE[0])
    # Both failures still reach nexusctl's own accounting.
    assert len(progress.failures) == 2


def test_runs_use_the_console_callback_unless_the_operator_names_another():
    err = io.StringIO()
    assert runner_environment({"PATH": "/usr/bin"}, stream=err)["ANSIBLE_STDOUT_CALLBACK"] == "nexus_cos.launch.console"
    assert runner_environment({"PATH": "/usr/bin", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal"},
                              stream=err)["ANSIBLE_STDOUT_CALLBACK"] == "ansible.builtin.minimal"


def test_a_play_s_own_messages_alike_both_show():
    out = io.StringIO()
    progress = Progress(stream=out)
    for dummy in range(2):
        progress(event("runner_on_ok", "Report the round", "ansible.builtin.debug", {"msg": ["wall_ms=120"]}))
    assert out.getvalue().count("wall_ms=120") == 2
