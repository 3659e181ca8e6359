"""The plan built from the precheck roles' variables and argument specs."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import REGISTRY
from ansible_collections.nexus_cos.launch.plugins.plugin_utils.precheck_plan import (CHECK_ORDER, ROLES_DIR, PlanError,
                                                                                     build_plan, role_options)
from ansible_collections.nexus_cos.launch.plugins.modules import precheck  # noqa: F401  registers the twelve


def defaults_resolver(overrides=None):
    """Resolves variables the way the play would with only role defaults,
    shared paths filled in."""
    values = {"nexus_repo_dir": "/opt/nexus-cos"}
    for name in CHECK_ORDER:
        with open(os.path.join(ROLES_DIR, "precheck_" + name, "defaults", "main.yml")) as handle:
            values.update(yaml.safe_load(handle))
    values.update(overrides or {})

    def resolve(var):
        return values[var]
    return resolve


def test_every_registered_check_has_a_role_and_the_order_matches():
    assert sorted(CHECK_ORDER, key=lambda n: REGISTRY[n].number) == list(CHECK_ORDER)
    assert set(CHECK_ORDER) == set(REGISTRY)
    for name in CHECK_ORDER:
        assert "precheck_%s_severity" % name in role_options(name)


def test_plan_strips_the_prefix_and_keeps_severity():
    plan = build_plan(CHECK_ORDER, defaults_resolver())
    assert list(plan) == list(CHECK_ORDER)
    assert plan["disk"] == {"severity": "error", "params": {"min_free_gb": 5.0, "paths": [
        "{{ nexus_repo_dir }}", "{{ nexus_backup_dir }}", "{{ nexus_audit_dir }}"]}}
    assert plan["api"]["severity"] == "warn"
    assert plan["api"]["params"]["latency_gate_ms"] == 200


def test_strings_from_extra_vars_are_converted_like_the_spec_says():
    plan = build_plan(["disk"], defaults_resolver({"precheck_disk_min_free_gb": "100"}))
    assert plan["disk"]["params"]["min_free_gb"] == 100.0


def test_bad_values_name_the_variable():
    with pytest.raises(PlanError) as info:
        build_plan(["disk", "api"], defaults_resolver({"precheck_disk_min_free_gb": "lots",
                                                       "precheck_api_severity": "fatal"}))
    msg = str(info.value)
    assert "precheck disk:" in msg and "precheck_disk_min_free_gb" in msg
    assert "precheck api:" in msg and "precheck_api_severity" in msg and "error, warn" in msg


def test_a_role_not_imported_is_named():
    def resolve(var):
        raise KeyError(var)
    with pytest.raises(PlanError, match="import the role nexus_cos.launch.precheck_memory"):
        build_plan(["memory"], resolve)


def test_unknown_check_is_refused():
    with pytest.raises(PlanError, match="no precheck named 'dsik'"):
        build_plan(["dsik"], defaults_resolver())
