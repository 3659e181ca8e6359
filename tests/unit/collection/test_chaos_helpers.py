"""The pure parts of tests/chaos/chaos.py (make chaos): how it reads a
run's failure messages and what counts as one clear message."""

from __future__ import annotations

import importlib.util
import json
import os
from repo_paths import ROOT

_spec = importlib.util.spec_from_file_location("chaos", os.path.join(ROOT, "tests", "chaos", "chaos.py"))
chaos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chaos)


def run_output(*results):
    tasks = [{"task": {"name": "t%d" % i}, "hosts": {"vps": r}} for i, r in enumerate(results)]
    return "PLAY [x]\n" + json.dumps({"plays": [{"tasks": tasks}]})


STAGE = "marketplace step 1 failed and was rolled back to snapshot S: gateway did not confirm"


def test_the_final_message_that_repeats_the_stage_is_one_message():
    msgs = chaos.failures(run_output(
        {"failed": True, "action": "nexus_cos.launch.gateway_verify", "msg": "One or more items failed"},
        {"failed": True, "action": "ansible.builtin.fail", "msg": STAGE},
        {"ok": True},
        {"failed": True, "action": "ansible.builtin.fail", "msg": ["failed at: Fail the run", STAGE]}))
    assert msgs[0] == chaos.FAILED_TASK + "One or more items failed"
    assert chaos.one_message(msgs) == "failed at: Fail the run\n" + STAGE


def test_two_different_messages_are_not_one():
    msgs = chaos.failures(run_output({"failed": True, "action": "fail", "msg": STAGE},
                                     {"failed": True, "action": "fail", "msg": "something else"}))
    assert chaos.one_message(msgs) is None
    assert chaos.one_message([]) is None


def test_output_that_is_no_json_is_kept_as_a_task_failure():
    assert chaos.failures("Traceback: boom") == [chaos.FAILED_TASK + "Traceback: boom"]
