"""Every role documents its variables once, in meta/argument_specs.yml, and
its defaults/main.yml must say exactly the same (STYLE: no drift)."""

from __future__ import annotations

import glob
import os
import re

import pytest
import yaml
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

ROLES = sorted(glob.glob(os.path.join(ROOT, "roles", "*")))


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("role", ROLES, ids=os.path.basename)
def test_role_has_an_argument_spec(role):
    spec = load(os.path.join(role, "meta", "argument_specs.yml"))
    assert spec and "main" in spec["argument_specs"], "%s has no meta/argument_specs.yml main entry" % role
    assert spec["argument_specs"]["main"].get("short_description")


@pytest.mark.parametrize("role", ROLES, ids=os.path.basename)
def test_defaults_match_the_argument_spec(role):
    options = load(os.path.join(role, "meta", "argument_specs.yml"))["argument_specs"]["main"].get("options") or {}
    defaults = load(os.path.join(role, "defaults", "main.yml")) or {}
    # A required option has no default (role alert's event): the caller names it.
    documented = {name: opt.get("default") for name, opt in options.items() if not opt.get("required")}
    assert set(defaults) == set(documented), "defaults and argument spec name different variables"
    for name, value in defaults.items():
        assert literal_default(value) == documented[name], "%s: defaults/main.yml has %r, argument_specs.yml %r" % (
            name, value, documented[name])


# A default that follows a shared variable ("{{ nexus_verify_timeout | default(30) }}")
# is documented by its fallback (30.0): the spec's default must be a value of its type.
FOLLOWS = re.compile(r"^\{\{ *[a-z_]+ *\| *default\((?P<fallback>[^()]*)\) *\}\}$")


def literal_default(value):
    match = FOLLOWS.match(value) if isinstance(value, str) else None
    return yaml.safe_load(match.group("fallback")) if match else value


def test_a_default_that_follows_another_variable_is_documented_by_its_fallback():
    assert literal_default("{{ nexus_verify_timeout | default(30) }}") == 30
    assert literal_default("{{ activation_verify_gateway_hosts | default([]) }}") == []
    assert literal_default("{{ nexus_run_id }}") == "{{ nexus_run_id }}"


# The names operators already type keep them, each owned by the one role
# that declares it; every other variable carries its role's name.
PUBLIC_NAMES = {
    "launch_global": {"nexus_launch_confirm", "nexus_launch_approvals", "nexus_launch_approvers", "launch_waivers"},
    "activation_gate": {"activation_force_reason", "nexus_clock_now"},
}


def role_options(role):
    return load(os.path.join(role, "meta", "argument_specs.yml"))["argument_specs"]["main"].get("options") or {}


@pytest.mark.parametrize("role", ROLES, ids=os.path.basename)
def test_role_variables_carry_the_role_prefix(role):
    name = os.path.basename(role)
    shared = name == "launch_context"
    for var in role_options(role):
        assert (var.startswith(name + "_") or var in PUBLIC_NAMES.get(name, ())
                or (shared and var.startswith(("nexus_", "precheck_")))), var


def test_one_name_one_owner():
    """A variable is declared by one role only: an input travels under one
    name, from the command line to the task that uses it."""
    owners = {}
    for role in ROLES:
        for var in role_options(role):
            owners.setdefault(var, []).append(os.path.basename(role))
    shared = {var: roles for var, roles in owners.items() if len(roles) > 1}
    assert not shared, shared


def test_variables_reference_is_current():
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "docs", "render_variables.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
