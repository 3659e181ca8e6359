# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Runs the precheck plan (built by the precheck_* roles, each validated by
Ansible against its own argument spec) on the host in one module execution,
then writes the controller's JSON and JUnit reports.

Names the operator typed (precheck_skip, precheck_warn_only) and the plan's
names are checked against the check registry here, on the controller, so a
typo stops the run before the module reaches the host."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.module_utils import operator_hints
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import write_atomic
# Importing the package registers the checks (its __init__ is the registry).
from ansible_collections.nexus_cos.launch.plugins.module_utils import checks  # noqa: F401 pylint: disable=unused-import
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import REGISTRY, registered_names
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import precheck_report

# Module option, and the play variable an operator sets for it.
NAME_OPTIONS = (("skip", "precheck_skip"), ("warn_only", "precheck_warn_only"))


def unknown_names(args):
    """Messages for every name in the plan, skip or warn_only that no
    registered check carries; empty when all are known."""
    known = ", ".join(registered_names())
    problems = []
    plan = args.get("plan")
    if not isinstance(plan, dict):
        return ["plan: expected {name: {severity, params}} from the precheck_* roles (nexus_precheck_plan), found %r"
                % (plan,)]
    unplanned = sorted(set(plan) - set(REGISTRY))
    if unplanned:
        problems.append("the plan names %s, which no check in plugins/module_utils/checks/ registers; known: %s"
                        % (", ".join(unplanned), known))
    for option, var in NAME_OPTIONS:
        given = args.get(option) or []
        if isinstance(given, str):
            given = [given]
        unknown = sorted(set(map(str, given)) - set(REGISTRY))
        if unknown:
            problems.append("%s names %s, which is not a precheck; expected names from: %s"
                            % (var, ", ".join(unknown), known))
    return problems


class ActionModule(ActionBase):

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        report_dir = args.get("report_dir")
        fail_on_error = bool(args.pop("fail_on_error", False))
        problems = unknown_names(args)
        if problems:
            raise AnsibleActionFail("precheck: %s" % "; ".join(problems))
        result.update(self._execute_module(module_name="nexus_cos.launch.precheck", module_args=args,
                                           task_vars=task_vars))
        if result.get("failed") or "results" not in result:
            return result
        host = task_vars.get("inventory_hostname", "host")
        # The module wrote the hints on the host, in ansible-playbook's words;
        # the reports say them as the driver of this run takes them.
        who = operator_hints.driver()
        for item in result["results"]:
            if isinstance(item, dict) and item.get("name") in REGISTRY:
                item["override"] = operator_hints.precheck_overrides(item["name"], who)
        result["table"] = precheck_report.table(result["results"])
        result["failures"] = precheck_report.failure_listing(host, result["results"])
        if report_dir:
            try:
                os.makedirs(report_dir, mode=0o750, exist_ok=True)
                base = os.path.join(report_dir, "precheck-%s" % host)
                write_atomic(base + ".json", precheck_report.to_json(
                    host, args.get("run_id"), result["results"], result["summary"]))
                write_atomic(base + ".junit.xml", precheck_report.to_junit(
                    host, args.get("run_id"), result["results"], result["summary"]))
            except OSError as exc:
                raise AnsibleActionFail("precheck: could not write the controller reports in %s: %s"
                                        % (report_dir, exc))
            result["controller_reports"] = [base + ".json", base + ".junit.xml"]
        if fail_on_error and not result["summary"]["ok"]:
            # After the reports: a failed run still leaves its evidence.
            result.update(failed=True, msg=result["failures"])
        return result
