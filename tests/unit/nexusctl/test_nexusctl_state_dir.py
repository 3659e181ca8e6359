# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl's state directory: where it is, never inside an installed
collection, and the rotation of the runner records (the audit heads never)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.nexusctl import playbook_run, state_dir


class OneHost(object):
    """ansible-runner's result of a run that worked on one host."""
    rc, status, events = 0, "successful", []
    stats = {"ok": {"vps1": 3}, "processed": {"vps1": 1}, "failures": {}, "dark": {}}


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    """main() sets the state dir for the process: undone after each test."""
    monkeypatch.setattr(playbook_run, "STATE_DIR", None)
    monkeypatch.setattr(playbook_run, "KEEP_RUNS", None)


@pytest.fixture
def installed(tmp_path):
    """A collection as ansible-galaxy installs it: no galaxy.yml, a MANIFEST.json."""
    root = tmp_path / "collections" / "ansible_collections" / "nexus_cos" / "launch"
    (root / "playbooks").mkdir(parents=True)
    (root / "MANIFEST.json").write_text('{"collection_info": {"version": "2.0.0"}}')
    return root


def test_a_checkout_keeps_its_own_directory(tmp_path):
    (tmp_path / "galaxy.yml").write_text("version: 2.0.0\n")
    assert state_dir.default_state_dir(str(tmp_path), {}) == (os.path.realpath(str(tmp_path)), "the checkout")


@pytest.mark.parametrize("environ, expected", [
    ({"XDG_STATE_HOME": "/x/state"}, "/x/state/nexus-cos-launch"),
    ({}, os.path.join(os.path.expanduser("~"), ".local", "state", "nexus-cos-launch")),
    ({"NEXUSCTL_STATE_DIR": "/srv/nexusctl", "XDG_STATE_HOME": "/x/state"}, "/srv/nexusctl"),
])
def test_an_installed_collection_uses_the_per_user_state_dir(installed, environ, expected):
    assert state_dir.resolve(None, str(installed), environ) == expected


def test_a_state_dir_inside_an_installed_collection_is_refused(installed):
    with pytest.raises(state_dir.StateDirError) as info:
        state_dir.resolve(str(installed / "state"), str(installed), {})
    assert str(info.value).startswith("--state-dir %s: inside an installed collection" % (installed / "state"))
    with pytest.raises(state_dir.StateDirError, match="^NEXUSCTL_STATE_DIR .*: inside an installed collection"):
        state_dir.resolve(None, str(installed), {"NEXUSCTL_STATE_DIR": str(installed)})


@pytest.mark.parametrize("given, environ, expected", [
    (None, {}, 20), ("3", {}, 3), (None, {"NEXUSCTL_KEEP_RUNS": "7"}, 7), ("2", {"NEXUSCTL_KEEP_RUNS": "7"}, 2)])
def test_keep_runs(given, environ, expected):
    assert state_dir.keep_runs(given, environ) == expected


@pytest.mark.parametrize("given, environ, message", [
    ("0", {}, "--keep-runs 0: expected a whole number of runs, at least 1"),
    (None, {"NEXUSCTL_KEEP_RUNS": "many"}, "NEXUSCTL_KEEP_RUNS many: expected a whole number of runs, at least 1")])
def test_a_bad_keep_count_names_its_source(given, environ, message):
    with pytest.raises(state_dir.StateDirError) as info:
        state_dir.keep_runs(given, environ)
    assert str(info.value) == message


def test_rotation_keeps_the_newest_and_never_touches_the_audit_heads(tmp_path):
    runner = tmp_path / "artifacts" / "runner"
    heads = tmp_path / "artifacts" / "audit-heads"
    heads.mkdir(parents=True)
    (heads / "vps1.json").write_text("{}")
    runner.mkdir()
    (runner / "notes.txt").write_text("mine")
    (runner / "other-dir").mkdir()
    for age in range(6):
        run = runner / ("nexusctl-%d" % age)
        run.mkdir()
        os.utime(run, (1000000 - age * 60, 1000000 - age * 60))    # nexusctl-0 the newest
    removed = state_dir.rotate(str(runner), 2)
    assert sorted(os.path.basename(path) for path in removed) == ["nexusctl-2", "nexusctl-3", "nexusctl-4",
                                                                  "nexusctl-5"]
    assert sorted(os.listdir(runner)) == ["nexusctl-0", "nexusctl-1", "notes.txt", "other-dir"]
    assert (heads / "vps1.json").read_text() == "{}"


def test_a_run_from_an_installed_collection_writes_nothing_into_it(installed, tmp_path, monkeypatch):
    """The runner records and the plays' artifacts (NEXUSCTL_STATE_DIR, which
    the nexus_artifacts_dir default reads) go to the state dir."""
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_STATE_HOME", str(xdg))
    monkeypatch.delenv("NEXUSCTL_STATE_DIR", raising=False)
    monkeypatch.setattr(playbook_run, "ROOT", str(installed))
    seen = {}

    def fake_runner(**kwargs):
        seen["env"] = dict(os.environ)
        os.makedirs(os.path.join(kwargs["private_data_dir"], "artifacts"))
        return OneHost

    monkeypatch.setattr("ansible_runner.run", fake_runner)
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[nexus_vps]\n")
    assert nexusctl_main.main(["-i", str(inventory), "--keep-runs", "1", "deploy"]) == 0
    assert nexusctl_main.main(["-i", str(inventory), "--keep-runs", "1", "deploy"]) == 0
    state = xdg / "nexus-cos-launch"
    assert seen["env"]["NEXUSCTL_STATE_DIR"] == str(state) and seen["env"]["NEXUS_DRIVER"] == "nexusctl"
    assert len(os.listdir(state / "artifacts" / "runner")) == 1
    written = [os.path.join(top, name) for top, dirs, files in os.walk(installed) for name in dirs + files]
    assert sorted(os.path.relpath(path, installed) for path in written) == ["MANIFEST.json", "playbooks"]


def test_a_bad_state_dir_is_a_usage_error_before_any_run(installed, monkeypatch, capsys):
    monkeypatch.setattr(playbook_run, "ROOT", str(installed))
    monkeypatch.setattr(playbook_run, "run_ansible_runner", lambda prefix, **kw: pytest.fail("no run"))
    assert nexusctl_main.main(["--state-dir", str(installed / "s"), "deploy"]) == 2
    assert "nexusctl: --state-dir %s: inside an installed collection" % (installed / "s") in capsys.readouterr().err
