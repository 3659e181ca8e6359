"""The console callback's pieces: messages as lines (never a list's repr),
the precheck block, the stage of a task, and options read safely when
ansible-runner's event callback wraps it without our option definitions."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.callback import console


def test_message_lines_never_a_repr():
    assert console.message_lines(["a", "b\nc"]) == ["a", "b", "c"]
    assert console.message_lines("one\ntwo") == ["one", "two"]
    assert console.message_lines(None) == []


def test_precheck_block_is_the_table_with_counts_then_the_failures():
    res = {"table": ["  #  check", "FAIL  01  system ..."], "failures": ["vps1: precheck 01 system failed: x"],
           "summary": {"passed": 3, "failed": 1, "warned": 0, "skipped": 2}}
    assert console.is_precheck_result(res)
    assert not console.is_precheck_result({"msg": "x", "table": "not a list", "failures": [], "summary": {}})
    table, failures = console.precheck_lines(res)
    assert table == ["prechecks (3 passed, 1 failed, 0 warned, 2 skipped):", "  #  check", "FAIL  01  system ..."]
    assert failures == ["vps1: precheck 01 system failed: x"]


class Role(object):
    def get_name(self, include_role_fqcn=True):
        return "nexus_cos.launch.deploy_lock" if include_role_fqcn else "deploy_lock"


class Task(object):
    action = "ansible.builtin.debug"

    def __init__(self, name, role=None):
        self.name, self._role = name, role

    def get_name(self):
        return self.name


def test_a_stage_is_the_role_or_the_task_outside_roles():
    assert console.stage_name(Task("Take the deployment lock", Role())) == "deploy_lock"
    assert console.stage_name(Task("Plan the prechecks")) == "Plan the prechecks"
    assert console.stage_name(Task("")) == "ansible.builtin.debug"


def test_options_missing_under_a_wrapping_callback_fall_back_to_defaults():
    callback = console.CallbackModule()

    def missing(name):
        raise KeyError(name)
    callback.get_option = missing
    assert callback._option("show_tasks", False) is False  # pylint: disable=protected-access


def test_stage_and_recap_lines():
    assert console.stage_line("FAILED", 1.25, "precheck_report", ["vps1"]) == "  FAILED      1.2s  precheck_report (vps1)"
    stats = {"ok": 3, "changed": 1, "failures": 1, "unreachable": 0, "skipped": 2, "rescued": 1, "ignored": 0}
    assert console.recap_line("vps1", stats, 2.04) == (
        "vps1: ok=3 changed=1 failed=1 unreachable=0 skipped=2 rescued=1 ignored=0  (2.0s)")
