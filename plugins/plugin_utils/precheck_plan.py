# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The precheck plan, built on the controller in one task: for each check in
the registry (plugins/module_utils/checks/), the variables of its role
``precheck_<name>`` (defaults/main.yml, overridden by the inventory and
extra vars) are validated against that role's meta/argument_specs.yml, the
one description of them, and become the check's entry
``{severity, params}``.

Which checks are planned follows the tags a role import would have had,
``[precheck, precheck_<name>]``: ``--tags precheck_disk`` plans that one,
``--skip-tags precheck_api`` leaves it out (reported as not run)."""

from __future__ import annotations

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

# Importing the package registers the checks (its __init__ is the registry).
from ansible_collections.nexus_cos.launch.plugins.module_utils import checks  # noqa: F401 pylint: disable=unused-import
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import registered_names

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")
SPEC_FILE = os.path.join("meta", "argument_specs.yml")
DEFAULTS_FILE = os.path.join("defaults", "main.yml")


def role_name(name):
    return "precheck_" + name


def role_dir(name):
    return os.path.join(ROLES_DIR, role_name(name))


def selected(name, run_tags, skip_tags):
    """Whether Ansible's tag rules would run a task tagged
    ``[precheck, precheck_<name>]`` under --tags ``run_tags`` and
    --skip-tags ``skip_tags`` (ansible.playbook.taggable.evaluate_tags)."""
    tags = {"precheck", "precheck_" + name}
    only, skip = set(run_tags or ()), set(skip_tags or ())
    if only and not ("all" in only or "tagged" in only or tags & only):
        return False
    return not (skip & tags or "all" in skip or "tagged" in skip)


def role_spec(name, load):
    """The options of role precheck_<name>'s main entry point; ``load(path)``
    reads a YAML file. Raises ValueError naming the file when the spec is
    missing or has no options."""
    path = os.path.join(role_dir(name), SPEC_FILE)
    if not os.path.isfile(path):
        raise ValueError("check %s is registered but %s does not exist: each check needs its role %s with an argument spec"
                         % (name, path, role_name(name)))
    data = load(path) or {}
    spec = ((data.get("argument_specs") or {}).get("main") or {}).get("options")
    if not isinstance(spec, dict):
        raise ValueError("%s: expected argument_specs.main.options, a mapping of the role's variables" % path)
    return spec


def role_defaults(name, load):
    """The role's defaults/main.yml as loaded (templates not yet rendered)."""
    path = os.path.join(role_dir(name), DEFAULTS_FILE)
    return (load(path) or {}) if os.path.isfile(path) else {}


def all_defaults(load):
    """The defaults of every registered check's role in one mapping (each
    variable is named after its role, so none hides another's)."""
    defaults = {}
    for name in registered_names():
        defaults.update(role_defaults(name, load))
    return defaults


def _keep_raw(option):
    # A host path is the host's: the validator's "path" type would expand ~
    # and $VARS on the controller, so the value goes to the host as written.
    return option.get("type") == "path" or (option.get("type") == "list" and option.get("elements") == "path")


def plan_entry(name, spec, values):
    """(entry, errors) for check ``name``: ``values`` are its role's variables
    (templates rendered), validated against ``spec``; the entry carries each
    value converted to the spec's type (an -e value arrives as text)."""
    validated = ArgumentSpecValidator(spec).validate(dict(values), validate_role_argument_spec=True)
    if validated.error_messages:
        return None, ["role nexus_cos.launch.%s (%s): %s" % (role_name(name), SPEC_FILE, msg)
                      for msg in validated.error_messages]
    prefix = role_name(name) + "_"
    params = {}
    for var, option in spec.items():
        value = validated.validated_parameters.get(var)
        if _keep_raw(option) and values.get(var) is not None:
            raw = values[var]
            value = [str(v) for v in raw] if isinstance(raw, (list, tuple)) else str(raw)
        if var == prefix + "severity":
            continue
        params[var[len(prefix):]] = value
    return {"severity": validated.validated_parameters.get(prefix + "severity"), "params": params}, []


def build(task_vars, template, load, defaults):
    """(plan, errors): the plan of every check the tags select. ``template``
    renders a value with the host's variables; ``load`` reads a YAML file;
    ``defaults`` is all_defaults(). A variable set for the host (inventory,
    play, -e) wins over the role's default, as when the role is imported."""
    plan, errors = {}, []
    run_tags, skip_tags = task_vars.get("ansible_run_tags"), task_vars.get("ansible_skip_tags")
    for name in registered_names():
        if not selected(name, run_tags, skip_tags):
            continue
        spec = role_spec(name, load)
        raw = {var: task_vars[var] if var in task_vars else defaults[var] for var in spec if var in task_vars or var in defaults}
        entry, problems = plan_entry(name, spec, template(raw))
        errors.extend(problems)
        if entry is not None:
            plan[name] = entry
    return plan, errors
