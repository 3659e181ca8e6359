# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The modules of action group host_paths take the run's host paths from the
play's module_defaults, not from their tasks: every play that reaches one of
them (directly or through its roles) sets the group's four options, and the
group holds only modules that accept all four."""

from __future__ import annotations

import glob
import os

import pytest
import yaml

from ansible_collections.nexus_cos.launch.plugins.module_utils import run_audit

from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

GROUP = "group/nexus_cos.launch.host_paths"
IMPORTS = ("ansible.builtin.import_role", "ansible.builtin.include_role")


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle) or []


def members():
    return load(os.path.join(ROOT, "meta", "runtime.yml"))["action_groups"]["host_paths"]


def actions(tasks, seen):
    """Every action name the tasks run, following role imports into roles/."""
    out = set()
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        for key in ("block", "rescue", "always"):
            out |= actions(task.get(key), seen)
        for key, value in task.items():
            out.add(key)
            if key in IMPORTS:
                role = value["name"].split(".")[-1]
                tasks_file = os.path.join(ROOT, "roles", role, "tasks", "%s.yml" % value.get("tasks_from", "main"))
                if tasks_file not in seen and os.path.exists(tasks_file):
                    seen.add(tasks_file)
                    out |= actions(load(tasks_file), seen)
    return out


PLAYS = [(os.path.basename(path), play) for path in sorted(glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))
         for play in load(path) if "hosts" in play]


@pytest.mark.parametrize("name,play", PLAYS, ids=["%s: %s" % (n, p["name"]) for n, p in PLAYS])
def test_a_play_that_reaches_the_group_sets_its_host_paths(name, play):
    grouped = set("nexus_cos.launch.%s" % m for m in members())
    reached = sorted(actions(play.get("tasks"), set()) & grouped)
    if not reached:
        pytest.skip("no module of group host_paths")
    defaults = (play.get("module_defaults") or {}).get(GROUP)
    assert defaults, "%s, play %r: runs %s but sets no module_defaults %s" % (name, play["name"], ", ".join(reached), GROUP)
    assert sorted(defaults) == sorted(run_audit.HOST_PATHS_ARGUMENT_SPEC), (name, sorted(defaults))


def test_the_group_names_exactly_the_modules_that_take_every_host_path():
    # A module documents the group's options with the host_paths fragment; the
    # group and the documentation must agree, or module_defaults would hand a
    # member an option it refuses.
    documented = set()
    for path in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")):
        with open(path) as handle:
            text = handle.read()
        if "  - nexus_cos.launch.host_paths\n" in text:
            documented.add(os.path.basename(path)[:-3])
    assert sorted(members()) == sorted(documented)
