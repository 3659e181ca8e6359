"""What an activation changes (module_utils/activation/plan.py): the gateway
reports the jurisdiction engine only for a plan that turns it on."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import activation
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import plan as activation_plan


@pytest.mark.parametrize("mode", ["global", "soft"])
def test_a_launch_expects_the_jurisdiction_engine(mode):
    plan = activation_plan.launch_plan(mode)
    assert activation.JURISDICTION_FLAG in plan.enable and plan.expect_jurisdiction is True


def test_the_switch_and_a_plan_without_the_engine_expect_nothing_of_it():
    assert activation_plan.emergency_plan().expect_jurisdiction is None
    assert activation_plan.Plan("x", "x plan", enable=[activation.PHASE2_FLAG]).expect_jurisdiction is None
    assert activation_plan.Plan("x", "x plan", enable=[activation.JURISDICTION_FLAG]).expect_jurisdiction is True
