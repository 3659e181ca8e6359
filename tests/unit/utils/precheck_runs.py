# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Running one precheck the way the precheck module does, for the tests of
the checks and of what lies beside them on a host (the platform's backups),
and the rule every precheck role keeps: its defaults are its argument spec's."""

from __future__ import annotations

import os
import subprocess

import yaml

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import run_checks
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.repository import status_argv
from ansible_collections.nexus_cos.launch.tests.unit.utils.fake_host import FakeHost, stat_result

REPO = "/opt/nexus-cos"
BACKUPS = "/opt/nexus-cos/backups/phase4"


def assert_defaults_match(role):
    with open(os.path.join(role, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(role, "meta", "argument_specs.yml")) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert defaults == {name: spec["default"] for name, spec in options.items()}


RUN_ID = "20260115T103045Z-ab12cd"


def backup(host, **params):
    params = dict({"dir": BACKUPS, "min_free_gb": 1.0, "run_id": RUN_ID}, **params)
    return run_checks({"backup": {"severity": "error", "params": params}}, host)[0]


def repository(git=None, exists=True, host=None, ignore=(BACKUPS,)):
    if host is None:
        commands = {tuple(status_argv(REPO, ignore)): git} if git else {}
        host = FakeHost(commands=commands, stats={REPO: stat_result(mode=0o040755)} if exists else {})
    plan = {"repository": {"severity": "error", "params": {"path": host_repo(host), "ignore_paths": list(ignore)}}}
    return run_checks(plan, host)[0]


def host_repo(host):
    return getattr(host, "repo_dir", REPO)


def git(*args, cwd):
    subprocess.run(["git", "-c", "user.email=ops@example.org", "-c", "user.name=ops"] + list(args),
                   cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
