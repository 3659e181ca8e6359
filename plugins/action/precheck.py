# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Builds the precheck plan from the precheck roles' variables (validated
against their argument specs), runs the precheck module on the host (one
round trip) and writes the controller's JSON and JUnit reports."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail, AnsibleUndefinedVariable
from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import write_atomic
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import precheck_report
from ansible_collections.nexus_cos.launch.plugins.plugin_utils.precheck_plan import CHECK_ORDER, PlanError, build_plan


class ActionModule(ActionBase):

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        report_dir = args.get("report_dir")
        fail_on_error = bool(args.pop("fail_on_error", False))
        if "plan" not in args:
            checks = args.pop("checks", None) or list(CHECK_ORDER)
            try:
                args["plan"] = build_plan(checks, self._resolve)
            except PlanError as exc:
                raise AnsibleActionFail("precheck: %s" % exc)
        result.update(self._execute_module(module_name="nexus_cos.launch.precheck", module_args=args,
                                           task_vars=task_vars))
        if result.get("failed") or "results" not in result:
            return result
        host = task_vars.get("inventory_hostname", "host")
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

    def _resolve(self, var):
        try:
            return self._templar.resolve_variable_expression(var)
        except AnsibleUndefinedVariable:
            raise KeyError(var)
