# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl status: where the launch stands on each host: access mode,
marketplace phase and step, gate clocks, launch, flags, last runs.

One read-only module execution per host (nexus_cos.launch.activation_state,
action query) through ansible-runner; the table is computed here from what
it returns, with the same rules the gates use."""

from __future__ import annotations

import json
import os
import sys

from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import (EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE,
                                                                        EXIT_USAGE, ROOT, add_target_arguments,
                                                                        parse_extra_vars, runner_environment)
from ansible_collections.nexus_cos.launch.plugins.module_utils import activation

# Module arguments, templated with each host's inventory variables (the
# role defaults of launch_context, written out: an ad-hoc run has no roles).
QUERY_ARGS = {
    "action": "query",
    "audit_dir": "{{ nexus_audit_dir | default('/var/log/nexus-cos/phase4-audit') }}",
    "flag_store": "{{ nexus_flag_store | default((nexus_repo_dir | default('/opt/nexus-cos')) ~ '/config/feature-flags.json') }}",
    "pf_dir": "{{ nexus_pf_dir | default((nexus_repo_dir | default('/opt/nexus-cos')) ~ '/pfs') }}",
    "lock_path": "{{ nexus_lock_path | default('/var/lock/nexus-cos-phase4-deploy.lock') }}",
}
MARKETPLACE_FLAGS = ("MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED")


def register(subparsers):
    parser = subparsers.add_parser(
        "status", help="access mode, marketplace phase and step, gate clocks, flags, last runs (read-only)",
        description="Reads each host's flag store, PF files, recorded activations and audit trail; changes nothing.")
    add_target_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=lambda args: show(args))
    return parser


def _when(epoch):
    return activation.format_utc(epoch) if isinstance(epoch, (int, float)) else "-"


def render(host, facts, now=None, sections=("all",)):
    """The status of one host as text."""
    s = activation.status_summary(facts, now=now)
    every = "all" in sections
    lines = [host]

    def row(label, value):
        lines.append("  %-18s %s" % (label, value))

    if every:
        row("access mode", s["access_mode"] or "unknown")
    step = "step %d of 4, applied %s" % (s["step"], _when(s["step_applied_at"])) if s["step"] else "no step in effect"
    row("marketplace", "phase %s (%s)" % (s["marketplace_phase"] if s["marketplace_phase"] is not None else "?", step))
    for gate in s["gates"]:
        row("next gate", "step %d: %s" % (gate["step"], gate["state"]))
    if every:
        launch = s["launch"]
        row("launch", "%s, applied %s by run %s%s" % (
            launch["key"].replace("launch_", ""), _when(launch["applied_at"]), launch["run_id"],
            "" if launch["in_effect"] else " (not in effect now)") if launch else "not launched")
        emergency = s["emergency"]
        if emergency:
            row("emergency switch", "pulled %s by run %s%s" % (
                _when(emergency["applied_at"]), emergency["run_id"],
                " (in effect)" if emergency["in_effect"] else " (not in effect now)"))
        lock = facts.get("lock") or {}
        holder = lock.get("holder")
        row("deployment lock", "held by %s%s" % (
            lock.get("text") or "run %s (user %s)" % (holder.get("run_id", "?"), holder.get("user", "?")),
            ", holder gone: %s" % lock["gone_reason"] if lock.get("gone_reason") else "") if holder else "free")
    flags = s["flags"] if every else dict((k, v) for k, v in s["flags"].items() if k in MARKETPLACE_FLAGS)
    if flags:
        lines.append("  flags (effective)")
        for name in sorted(flags):
            lines.append("    %-34s %s" % (name, "on" if flags[name] else "off"))
    if every and s["last_runs"]:
        lines.append("  last runs")
        for run in s["last_runs"]:
            lines.append("    %-20s %-10s %-11s %-8s %s" % (
                _when(run.get("completed") or run.get("started")), run.get("kind", "?"),
                run.get("playbook") or "?", run.get("status") or "running?", run.get("run_id") or "?"))
    for problem in s["problems"]:
        row("PROBLEM", problem)
    return "\n".join(lines)


def query(args):
    """{host: facts} from one ad-hoc module run; (facts, exit code)."""
    import ansible_runner

    inventory = os.path.abspath(args.inventory)
    if not os.path.exists(inventory):
        print("nexusctl: inventory %s does not exist" % args.inventory, file=sys.stderr)
        return {}, EXIT_USAGE
    try:
        extra = parse_extra_vars(args.extra_vars)
    except (OSError, ValueError) as exc:
        print("nexusctl: %s" % exc, file=sys.stderr)
        return {}, EXIT_USAGE
    results, failures = {}, []

    def collect(event):
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok":
            results[data.get("host")] = data.get("res") or {}
        elif event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            failures.append((event["event"], data.get("host"), (data.get("res") or {}).get("msg", "")))
        return True

    private, env = runner_environment("nexusctl-status-")
    ansible_runner.run(private_data_dir=private, project_dir=ROOT, module="nexus_cos.launch.activation_state",
                       module_args=json.dumps(QUERY_ARGS), host_pattern="nexus_vps", inventory=inventory,
                       limit=args.limit, extravars=extra or None, cmdline="--become", envvars=env, quiet=True,
                       event_handler=collect, verbosity=args.verbose or None)
    for kind, host, msg in failures:
        print("nexusctl status: %s: %s" % (host, msg), file=sys.stderr)
    if any(kind == "runner_on_unreachable" for kind, _, _ in failures):
        return results, EXIT_UNREACHABLE
    if failures or not results:
        if not failures:
            print("nexusctl status: no host of group nexus_vps answered (inventory %s)" % args.inventory,
                  file=sys.stderr)
        return results, EXIT_ERROR
    return results, EXIT_OK


def show(args, sections=("all",)):
    results, code = query(args)
    if getattr(args, "json", False):
        print(json.dumps(dict((host, activation.status_summary(facts)) for host, facts in sorted(results.items())),
                         indent=2, sort_keys=True))
    else:
        print("\n\n".join(render(host, facts, sections=sections) for host, facts in sorted(results.items())))
    return code
