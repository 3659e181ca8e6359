"""Action controller_report: files written atomically on the controller;
the run stats handed back as ansible_stats (as set_stats does), in check
mode too, a bad ``stats`` argument refused before anything is written; the
launch report (its page and data beside the summary, a later part of the
run laid over them, nothing written in check mode, no secret in either)."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.nexus_cos.launch.plugins.action import controller_report
from ansible_collections.nexus_cos.launch.tests.unit.utils import launch_report_fixture as fixture

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


def run(args, check_mode=False):
    return run_report(check_mode=check_mode, **args)


def test_the_report_and_its_data_land_beside_the_summary(tmp_path):
    results = fixture.results()
    later = {"guard": results.pop("guard")}
    path = tmp_path / "run" / "summary-vps1.html"
    first = run({"launch_report": dict(results, path=str(path))})
    assert sorted(first["written"]) == [str(tmp_path / "run" / "summary-vps1.html"), str(tmp_path / "run" / "summary-vps1.json")]
    stored = json.loads((tmp_path / "run" / "summary-vps1.json").read_text())
    assert "guard" not in stored and stored["prechecks"]["summary"]["failed"] == 1
    # The guard, after the lock is released, adds its section to the same report.
    run({"launch_report": dict(later, path=str(path))})
    stored = json.loads((tmp_path / "run" / "summary-vps1.json").read_text())
    assert stored["guard"]["looks"] == 40 and stored["prechecks"]["summary"]["failed"] == 1
    page = path.read_text()
    assert "The guard's watch" in page and "fix: %s" % fixture.FAILING_FIX in page
    for secret in fixture.SECRETS:
        assert secret not in page and secret not in json.dumps(stored), secret


def test_check_mode_writes_nothing(tmp_path):
    result = run({"launch_report": dict(fixture.results(), path=str(tmp_path / "summary-vps1.html"))}, check_mode=True)
    assert result["changed"] is True and result["written"] == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("report, message", [
    ({"path": "/tmp/summary.txt"}, "launch_report must be a mapping with path (the report's file, ending in .html)"),
    ({"path": "/tmp/x.html", "guards": {}}, "launch_report has guards; expected path and run, precheck, gate"),
])
def test_a_bad_launch_report_is_named(report, message):
    with pytest.raises(AnsibleActionFail, match=message.replace("(", r"\(").replace(")", r"\)")):
        run({"launch_report": report})


@pytest.mark.parametrize("stored, says", [
    ("{not json", "summary-vps1.json: could not read it as JSON"),
    ('{"version": 99}', "summary-vps1.json: not launch report data of version 1"),
])
def test_unreadable_stored_data_is_named_not_overwritten(tmp_path, stored, says):
    (tmp_path / "summary-vps1.json").write_text(stored)
    with pytest.raises(AnsibleActionFail, match=says + ".*move it aside to write the report afresh"):
        run({"launch_report": {"path": str(tmp_path / "summary-vps1.html"), "run": {"id": "r"}}})
    assert (tmp_path / "summary-vps1.json").read_text() == stored
