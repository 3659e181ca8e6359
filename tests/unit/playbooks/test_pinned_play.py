# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""A real ansible-playbook run on this machine: what the inventory pins
given with -e stops the run at its first task, with the variable named and
nothing written (no audit record, no lock, no flag, no exported head)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.nexus_cos.launch.tests.unit.utils.play_target import STEP_1

TASK = "Stop if an extra var sets a pinned variable or carries a secret"


@pytest.mark.parametrize("given, name, why", [
    ("nexus_environment=test", "nexus_environment",
     "the environment, which decides whether the test clock nexus_clock_now is allowed"),
    (json.dumps({"nexus_launch_approvers": {"mallory": {"role": "founder", "password_hash": "x"}}}),
     "nexus_launch_approvers", "the approver registry of the two-person rule"),
    ("nexus_audit_dir=/var/tmp/nexus-elsewhere", "nexus_audit_dir", "where the audit trail lives on the host"),
])
def test_a_pinned_variable_given_with_e_stops_the_run_before_anything_is_written(target, given, name, why):
    before = target.bytes()
    rc, tasks = target.play("marketplace.yml", *STEP_1 + ("-e", given))
    assert rc == 2
    assert tasks[TASK]["msg"] == (
        "Stop: %s was given with -e (extra vars), but it is pinned (%s): one operator cannot change it from the "
        "command line; set it in the inventory (group_vars or host_vars), a reviewed change, and run without "
        "the -e" % (name, why))
    # The closing listing says so, instead of failing on the paths of a run that never started.
    assert tasks["Say how the run ended and where its records are"]["msg"] == [
        "the run stopped before it started: nothing was written"]
    assert target.bytes() == before
    assert not os.path.exists(target.audit_dir) and not os.path.exists("/var/tmp/nexus-elsewhere")
    assert not os.path.exists(target.host / "deploy.lock")
    assert not os.path.exists(target.host / "artifacts" / "audit-heads")
