"""The pure parts of tests/chaos/chaos.py (make chaos): how it reads a
run's failure messages and what counts as one clear message."""

from __future__ import annotations

import importlib.util
import json
import os
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

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


class LocalBox(chaos.Box):
    """A Box whose commands run on this machine (no sandbox)."""

    def __init__(self, files=None):
        self.files = files or {}

    def sh(self, script, check=True, timeout=120):
        import subprocess
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=timeout,
                              check=False).stdout

    def read(self, path):
        return self.files.get(path, "")


def test_module_pids_finds_a_pipelined_module_and_not_its_own_command():
    import subprocess
    # A pipelined module's command line is the bare interpreter, reading its stdin.
    module = subprocess.Popen(["/usr/bin/python3"], executable="/bin/cat", stdin=subprocess.PIPE)
    try:
        import time
        time.sleep(0.3)
        pids = LocalBox().module_pids()
    finally:
        module.kill()
        module.wait()
    # Other runs on this machine may have modules of their own: membership only.
    assert module.pid in pids
    for pid in pids:
        try:
            with open("/proc/%d/cmdline" % pid) as handle:
                assert "pgrep" not in handle.read()
        except FileNotFoundError:
            pass


def test_kill_points_learn_the_length_of_a_run_that_ended_first():
    import random
    import time
    points = chaos.KillPoints(("step1", "launch"), guess=15.0)
    rng = random.Random(1)
    assert all(0.5 <= points.draw(rng, "step1") <= 13.5 for dummy in range(50))
    points.learn("step1", "nothing (the run had ended)", time.monotonic() - 4.0)
    points.learn("launch", "the SSH session (sshd 12) at 3.0 s", time.monotonic() - 9.0)
    assert 4.0 <= points.lasts["step1"] < 5.0 and points.lasts["launch"] == 15.0
    assert all(points.draw(rng, "step1") <= 4.5 for dummy in range(50))
    assert points.note("cuts") == "1 of 2 cuts landed in a run in flight, 1 came after the run had ended"


def state(*entries):
    return {chaos.STATE_FILE: json.dumps({"activations": list(entries)})}


def test_the_trail_says_the_last_launch_or_switch_not_undone_and_step_1():
    was = ("founder_beta", 0)
    assert chaos.trail_says(LocalBox(), was) == was
    step1 = {"key": "marketplace_step_1"}
    launch = {"key": "launch_global"}
    switch = {"key": "emergency"}
    assert chaos.trail_says(LocalBox(state(step1, launch)), was) == ("public_full", 3)
    assert chaos.trail_says(LocalBox(state(launch, switch)), was) == ("founder_beta", 0)
    undone = dict(launch, undone={"at": 1})
    assert chaos.trail_says(LocalBox(state(dict(step1, undone={"at": 1}), undone)), was) == was


def test_the_ssh_inventory_is_the_production_shape():
    import yaml
    text = chaos.SSH_INVENTORY.format(name="box", address="10.88.0.9", key="/tmp/k", control="/tmp/cp",
                                      known_hosts="/tmp/kh")
    group = yaml.safe_load(text)["all"]["children"]["nexus_vps"]
    host = group["hosts"]["box"]
    assert (host["ansible_connection"], host["ansible_user"], host["ansible_become"]) == ("ssh", "deploy", True)
    assert host["ansible_ssh_common_args"] == "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/tmp/kh"
    assert sorted(group["vars"]["nexus_launch_approvers"]) == ["alice", "bob"]
    assert group["vars"]["nexus_launch_approvers"]["bob"]["password_hash"].startswith("$pbkdf2-sha256$29000$")
