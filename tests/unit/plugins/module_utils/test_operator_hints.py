# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The hints name the overrides in the words of whoever drives the run:
ansible-playbook's extra vars, or nexusctl's own flags under nexusctl."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import operator_hints
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import ActivationError, clock, gate
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import hint_vars


def test_the_driver_is_nexusctl_only_when_it_says_so():
    assert operator_hints.driver({}) == operator_hints.ANSIBLE
    assert operator_hints.driver({"NEXUS_DRIVER": "something"}) == operator_hints.ANSIBLE
    assert operator_hints.driver({"NEXUS_DRIVER": "nexusctl"}) == operator_hints.NEXUSCTL


def test_precheck_overrides_in_both_spellings():
    assert operator_hints.precheck_overrides("services") == {
        "skip": "-e '{\"precheck_skip\": [\"services\"]}'", "warn_only": "-e '{\"precheck_warn_only\": [\"services\"]}'"}
    assert operator_hints.precheck_overrides("services", operator_hints.NEXUSCTL) == {
        "skip": "--skip services", "warn_only": "--warn-only services"}
    # What the module writes on the host: ansible-playbook's words.
    assert hint_vars("disk") == operator_hints.precheck_overrides("disk")


@pytest.mark.parametrize("driver, expected, absent", [
    (None, "force it with -e activation_force_reason=TEXT", "--force-reason"),
    ("nexusctl", "force it with --force-reason TEXT", "activation_force_reason"),
])
def test_a_refused_gate_says_how_to_force_it_in_the_drivers_words(monkeypatch, driver, expected, absent):
    if driver:
        monkeypatch.setenv("NEXUS_DRIVER", driver)
    else:
        monkeypatch.delenv("NEXUS_DRIVER", raising=False)
    decision = gate.Decision(None, 1796000000)
    decision.refusals.append("step 2 needs step 1 first")
    assert decision.message() == "step 2 needs step 1 first; " + expected
    with pytest.raises(ActivationError) as info:
        clock.check_test_clock(1795861800.0, "production")
    assert expected.replace("force it with ", "") in str(info.value) and absent not in str(info.value)
