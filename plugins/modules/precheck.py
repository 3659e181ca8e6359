#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: precheck
short_description: Run the Phase 4 prechecks on a Nexus COS host in one pass
version_added: "1.0.0"
description:
  - Runs every precheck named in O(plan) on the managed host, in precheck order, in a single
    module execution, side by side. Every check runs even when an earlier one fails.
  - The plan comes from M(nexus_cos.launch.precheck_plan), which validates each check's variables
    against its role C(precheck_<name>)'s argument spec (role C(nexus_cos.launch.precheck_report)
    passes C(nexus_precheck_plan)). A registered check the plan leaves out (for example with
    C(--skip-tags precheck_<name>)) is reported as C(SKIP), so the report always lists every check.
  - Writes the host's precheck report (C(precheck-<stamp>.log)) and one audit record per check;
    the backup check writes its pre-deployment marker. Reports C(changed) when it wrote them; the
    plays mark the task C(changed_when=false), as these are records of a run, not configuration.
  - Never fails the task because a check failed; the result lists each check's status, message,
    fix and the variable that skips or downgrades it. The companion action plugin checks the
    plan's and the operator's check names against the registry on the controller, writes the
    controller reports and, with O(fail_on_error), fails the task.
  - The check logic lives in C(plugins/module_utils/checks/), one file per check.
author: Nexus COS platform team (@nexus-cos)
extends_documentation_fragment:
  - nexus_cos.launch.attributes
  - nexus_cos.launch.host_paths.audit_paths
  - nexus_cos.launch.audit
options:
  plan:
    description:
      - "The checks with their parameters, C({name: {severity, params}}), as
        M(nexus_cos.launch.precheck_plan) builds it in C(nexus_precheck_plan)."
    type: dict
    required: true
  workers:
    description:
      - How many checks run side by side on the host. They are independent and mostly wait on
        commands and sockets; C(1) runs them one after another.
    type: int
    default: 4
  fail_on_error:
    description:
      - Action plugin only. Fail the task, listing each error-severity failure with its fix and
        the variables that skip or downgrade it, after the reports are written.
    type: bool
    default: false
  skip:
    description: Names of checks the operator skips (C(precheck_skip)). Audited.
    type: list
    elements: str
    default: []
  warn_only:
    description: Names of checks whose failure is downgraded to a warning (C(precheck_warn_only)). Audited.
    type: list
    elements: str
    default: []
  report_file:
    description: File name of the precheck report in O(audit_dir), C(precheck-<stamp>.log).
    type: str
  report_dir:
    description: Local directory on the controller for the JSON and JUnit reports (action plugin).
    type: path
attributes:
  check_mode:
    support: full
    details: The checks only read; in check mode no report or audit record is written.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Run the plan precheck_plan built
  nexus_cos.launch.precheck:
    plan: "{{ nexus_precheck_plan }}"
    skip: "{{ precheck_skip }}"
    warn_only: "{{ precheck_warn_only }}"
    audit_dir: "{{ nexus_audit_dir }}"
    audit_file: "deployment-{{ nexus_run_stamp }}.log"
    run_id: "{{ nexus_run_id }}"
    report_file: "precheck-{{ nexus_run_stamp }}.log"
  register: nexus_precheck
  changed_when: false

- name: Disk and memory only, with a threshold of its own
  nexus_cos.launch.precheck:
    plan:
      disk: {severity: error, params: {min_free_gb: 20, paths: [/opt/nexus-cos]}}
      memory: {severity: warn, params: {min_gb: 4, recommended_gb: 8, min_available_gb: 1}}
  check_mode: true
'''

RETURN = r'''
results:
  description: One entry per registered check, in order; a check left out of O(plan) is C(SKIP).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Check name, type: str}
    number: {description: "Place in the registry's order (1, 2, ...)", type: int}
    status: {description: "PASS, FAIL, WARN or SKIP", type: str}
    severity: {description: "error or warn (after warn_only)", type: str}
    msg: {description: What was found, type: str}
    hint: {description: How to fix it, type: str}
    details: {description: Evidence, type: dict}
    duration_ms: {description: Time the check took, type: int}
    override: {description: The extra vars that skip or downgrade this check, type: dict}
summary:
  description: Counts and C(ok), false when an error-severity check failed.
  returned: always
  type: dict
  sample: {passed: 11, failed: 1, warned: 0, skipped: 0, total: 12, ok: false}
report:
  description: Path of the precheck report on the host.
  returned: when written
  type: str
audit_head:
  description: The audit chain head after this module's records.
  returned: when audited
  type: dict
'''

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import run_audit
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import os_error_text, write_atomic
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.host_probe import LocalHost
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import (not_planned, render_log,
                                                                                        run_checks, summarize)
# Importing the checks package registers the checks (its __init__
# is the registry). pylint: disable=unused-import
from ansible_collections.nexus_cos.launch.plugins.module_utils import checks  # noqa: F401


def audit_events(results, summary, params, report_name, report_sha):
    events = [("PRECHECK_START", {"checks": len(results)})]
    for action in ("skip", "warn_only"):
        for name in params[action]:
            events.append(("PRECHECK_OVERRIDE", {"check": name, "action": action}))
    for r in results:
        events.append(("PRECHECK_" + r["name"].upper(), {
            "status": r["status"], "severity": r["severity"], "duration_ms": r["duration_ms"], "msg": r["msg"]}))
    fields = {"passed": summary["passed"], "failed": summary["failed"], "warned": summary["warned"],
              "skipped": summary["skipped"], "status": "pass" if summary["ok"] else "fail"}
    if report_name:
        fields.update(report=report_name, report_sha256=report_sha)
    events.append(("PRECHECK_COMPLETE", fields))
    return events


def main():
    argument_spec = dict(
        workers=dict(type="int", default=4),
        plan=dict(type="dict", required=True),
        skip=dict(type="list", elements="str", default=[]),
        warn_only=dict(type="list", elements="str", default=[]),
        report_file=dict(type="str"),
        # Acted on by the action plugin, after this module returns.
        report_dir=dict(type="path"),
        fail_on_error=dict(type="bool", default=False),
    )
    argument_spec.update(run_audit.AUDIT_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params

    # What every check may need of the run itself (backup writes its marker
    # under the run id, and nothing in check mode).
    for entry in params["plan"].values():
        entry.setdefault("params", {}).update(run_id=params["run_id"], check_mode=module.check_mode)
    try:
        results = run_checks(params["plan"], LocalHost(), params["skip"], params["warn_only"],
                             workers=params["workers"])
    except (ValueError, KeyError) as exc:
        module.fail_json(msg="precheck plan: %s" % exc)
    results = sorted(results + not_planned(params["plan"]), key=lambda r: r["number"])
    summary = summarize(results)
    out = dict(changed=False, results=results, summary=summary)
    if module.check_mode:
        module.exit_json(**out)
    # From here the module writes: the report, the audit records, the marker.
    out["changed"] = True

    try:
        log = run_audit.open_audit(params)
        report_name = params["report_file"]
        report_sha = None
        if report_name:
            if os.path.basename(report_name) != report_name or not report_name.startswith("precheck-"):
                module.fail_json(msg="report_file %r: expected a file name precheck-<stamp>.log" % report_name)
            text = render_log(results, "run %s" % (params.get("run_id") or "-"))
            report_sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if not os.path.isdir(params["audit_dir"]):
                os.makedirs(params["audit_dir"], 0o750)
            out["report"] = os.path.join(params["audit_dir"], report_name)
            write_atomic(out["report"], text, mode=0o640)
        head = run_audit.write(log, audit_events(results, summary, params, report_name, report_sha)
                               + run_audit.extra_events(params))
    except (OSError, ValueError) as exc:
        why = os_error_text(exc) if isinstance(exc, OSError) else exc
        module.fail_json(msg="precheck: could not write the report or audit records: %s" % why, **out)
    if head:
        out["audit_head"] = head
    module.exit_json(**out)


if __name__ == "__main__":
    main()
