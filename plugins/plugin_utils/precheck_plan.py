# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Builds the precheck plan on the controller from the precheck roles'
variables, validated against the roles' own argument specs.

Each role ``precheck_<name>`` only declares its variables (defaults and
meta/argument_specs.yml). Here every ``precheck_<name>_<param>`` variable
becomes the check's ``<param>``, after the same type checks and conversions
``validate_argument_spec`` applies, so a string from ``-e`` arrives as the
number the spec declares and a typo fails before anything reaches the host.
One validation for all twelve, and no task per check."""

from __future__ import annotations

import os

import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

CHECK_ORDER = ("system", "services", "docker", "disk", "memory", "repository", "configuration",
               "api", "database", "previous_phases", "security", "backup")
SPEC_KEYS = ("type", "elements", "choices", "required", "options")
ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


class PlanError(ValueError):
    pass


def role_options(name, roles_dir=ROLES_DIR):
    path = os.path.join(roles_dir, "precheck_%s" % name, "meta", "argument_specs.yml")
    try:
        with open(path) as handle:
            return yaml.safe_load(handle)["argument_specs"]["main"].get("options") or {}
    except FileNotFoundError:
        raise PlanError("no precheck named %r (expected role precheck_%s); known: %s"
                        % (name, name, ", ".join(CHECK_ORDER)))


def _spec(options):
    return {var: {k: v for k, v in opt.items() if k in SPEC_KEYS} for var, opt in options.items()}


def build_plan(checks, resolve, roles_dir=ROLES_DIR):
    """``resolve(var)`` returns a variable's value or raises KeyError when
    it is undefined. Returns ``{name: {severity, params}}``; raises PlanError
    naming every bad or missing variable."""
    plan, problems = {}, []
    for name in checks:
        options = role_options(name, roles_dir)
        prefix = "precheck_%s_" % name
        values, missing = {}, []
        for var in options:
            try:
                values[var] = resolve(var)
            except KeyError:
                missing.append(var)
        if missing:
            problems.append("precheck %s: %s undefined; import the role nexus_cos.launch.precheck_%s in the play"
                            % (name, ", ".join(missing), name))
            continue
        result = ArgumentSpecValidator(_spec(options)).validate(values)
        if result.error_messages:
            problems.extend("precheck %s: %s" % (name, msg) for msg in result.error_messages)
            continue
        params = {var[len(prefix):]: value for var, value in result.validated_parameters.items()}
        plan[name] = {"severity": params.pop("severity"), "params": params}
    if problems:
        raise PlanError("; ".join(problems))
    return plan
