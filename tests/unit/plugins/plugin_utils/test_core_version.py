# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Below the supported ansible-core the run stops in the action every play
runs first, naming the running version and the range; above the newest
tested one it warns."""

from __future__ import annotations

import glob
import os
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader

from ansible_collections.nexus_cos.launch.plugins.action import pinned_vars as pinned_action
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import core_version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

REFUSAL_2_15 = ("Stop: this run uses ansible-core 2.15.13, but the collection nexus_cos.launch supports ansible-core "
                "2.16 through 2.21 (meta/runtime.yml: requires_ansible '>=2.16.0'), and older releases are not tested. "
                "Install a supported ansible-core (pip install 'ansible-core>=2.16,<2.22.0') or use an execution "
                "environment that ships one")


def action():
    task = mock.MagicMock()
    task.args = {}
    task.async_val, task.check_mode, task.diff = 0, False, False
    return pinned_action.ActionModule(task, mock.MagicMock(), mock.MagicMock(), DataLoader(), mock.MagicMock(),
                                      mock.MagicMock())


def test_the_lowest_supported_version_is_requires_ansible():
    assert core_version.lowest_supported() == "2.16.0"


def test_the_newest_tested_minor_is_the_newest_compat_requirements_file():
    files = glob.glob(os.path.join(ROOT, "tests", "compat", "requirements-*.txt"))
    minors = sorted((os.path.basename(f)[len("requirements-"):-len(".txt")] for f in files), key=core_version.parse)
    assert minors[-1] == core_version.NEWEST_TESTED
    assert minors[0] == "%d.%d" % core_version.parse(core_version.lowest_supported())[:2]


@pytest.mark.parametrize("version, expected", [
    ("2.16.19", (2, 16, 19)), ("2.20.0rc1", (2, 20, 0)), ("2.21.0.dev0", (2, 21, 0)), ("2.9", (2, 9, 0))])
def test_parse(version, expected):
    assert core_version.parse(version) == expected


def test_parse_names_what_it_expected():
    with pytest.raises(ValueError, match=r"'devel' is not an ansible-core version \(expected MAJOR.MINOR\[.PATCH\]\)"):
        core_version.parse("devel")


def test_below_the_range_the_refusal_names_the_version_and_the_range():
    assert core_version.refusal("2.15.13", "2.16.0") == REFUSAL_2_15
    assert core_version.refusal("2.9.27", "2.16.0").startswith("Stop: this run uses ansible-core 2.9.27, ")


@pytest.mark.parametrize("version", ["2.16.0", "2.16.19", "2.17.14", "2.19.14", "2.21.5", "2.22.1"])
def test_in_and_above_the_range_nothing_is_refused(version):
    assert core_version.refusal(version, "2.16.0") == ""


def test_above_the_newest_tested_a_warning_only():
    assert core_version.warning("2.19.14", "2.16.0") == ""
    assert core_version.warning("2.21.5", "2.16.0") == ""
    assert core_version.warning("2.22.1", "2.16.0") == (
        "nexus_cos.launch is tested on ansible-core 2.16 through 2.21; this run uses ansible-core 2.22.1, which is "
        "not tested (make compat runs the supported range)")


def test_requires_ansible_without_a_lower_bound_is_named(tmp_path):
    runtime = tmp_path / "runtime.yml"
    runtime.write_text('requires_ansible: "<2.21"\n')
    with pytest.raises(ValueError, match=r"runtime.yml: requires_ansible '<2.21' has no single '>=VERSION' bound"):
        core_version.lowest_supported(str(runtime))
    runtime.write_text("requires_ansible: 2.16\n")
    with pytest.raises(ValueError, match=r"runtime.yml: requires_ansible must be a version specifier such as "
                                         r"'>=2.16.0' \(found 2.16\)"):
        core_version.lowest_supported(str(runtime))


def test_the_first_action_of_every_play_stops_on_an_older_core(monkeypatch):
    monkeypatch.setattr(core_version, "running", lambda: "2.15.13")
    refuse = mock.Mock()
    monkeypatch.setattr(pinned_action.pinned_vars, "refuse_extra_vars", refuse)
    with pytest.raises(AnsibleActionFail) as raised:
        action().run(task_vars={})
    assert str(raised.value) == REFUSAL_2_15
    refuse.assert_not_called()


def test_the_first_action_runs_on_the_oldest_supported_and_warns_above_the_newest(monkeypatch):
    monkeypatch.setattr(pinned_action.pinned_vars, "refuse_extra_vars", lambda act: None)
    for version, warned in (("2.16.0", False), ("2.19.14", False), ("2.21.5", False), ("2.22.0", True)):
        monkeypatch.setattr(core_version, "running", lambda v=version: v)
        act = action()
        act._display = mock.Mock()
        result = act.run(task_vars={})
        assert not result.get("failed")
        assert act._display.warning.called is warned
