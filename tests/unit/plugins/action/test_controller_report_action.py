"""Action controller_report: files written atomically on the controller,
and the run stats handed back as ansible_stats (as set_stats does), in
check mode too; a bad ``stats`` argument is refused before anything is
written."""

from __future__ import annotations

from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.nexus_cos.launch.plugins.action import controller_report

STATS = {"nexus_cos_run": {"run_id": "20261201T100000Z-aaaaaa", "hosts": {"vps1": {"status": "success"}}}}


def run_report(check_mode=False, **args):
    task = mock.MagicMock()
    task.args = args
    task.async_val, task.check_mode, task.diff = 0, check_mode, False
    action = controller_report.ActionModule(task, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(),
                                            mock.MagicMock(), mock.MagicMock())
    with mock.patch.object(controller_report.pinned_vars, "refuse_extra_vars"):
        return action.run(task_vars={})


def test_writes_the_files_and_returns_the_stats_run_wide_and_merged(tmp_path):
    path = tmp_path / "run" / "summary.txt"
    result = run_report(files={str(path): "ok\n"}, stats=STATS)
    assert path.read_text() == "ok\n" and result["written"] == [str(path)]
    assert result["ansible_stats"] == {"data": STATS, "per_host": False, "aggregate": True}


def test_check_mode_writes_nothing_and_still_returns_the_stats(tmp_path):
    path = tmp_path / "summary.txt"
    result = run_report(check_mode=True, files={str(path): "ok\n"}, stats=STATS)
    assert not path.exists() and result["changed"] is True and result["written"] == []
    assert result["ansible_stats"]["data"] == STATS


def test_without_stats_no_ansible_stats(tmp_path):
    result = run_report(files={str(tmp_path / "s.txt"): "ok\n"})
    assert "ansible_stats" not in result


@pytest.mark.parametrize("stats, says", [
    (["nexus_cos_run"], "'stats' must be a mapping of stat name to value, got list"),
    ({"nexus cos run": 1}, "stat name 'nexus cos run' in 'stats' is not a variable name"),
    ({"_private": 1}, "stat name '_private' in 'stats' is not a variable name"),
])
def test_a_bad_stats_argument_is_refused_before_anything_is_written(tmp_path, stats, says):
    path = tmp_path / "summary.txt"
    with pytest.raises(AnsibleActionFail) as err:
        run_report(files={str(path): "ok\n"}, stats=stats)
    assert says in str(err.value) and not path.exists()
