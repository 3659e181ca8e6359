# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl status: where the launch stands on each host: access mode,
marketplace phase and step, gate clocks, launch, flags, last runs.

playbooks/status.yml through ansible-runner: two read-only module
executions per host (the activation state, and what the gateway serves, with
no reload); the table is computed here from what they return, with the same
rules the gates use."""

from __future__ import annotations

import os
import shlex
import socket
import sys

from ansible_collections.nexus_cos.launch.nexusctl import json_output
from ansible_collections.nexus_cos.launch.nexusctl.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import (ROOT, add_target_arguments,
                                                                        exit_code_of_interruption, interruption,
                                                                        no_hosts_matched,
                                                                        read_extra_vars, report_interruption,
                                                                        run_ansible_runner)
from ansible_collections.nexus_cos.launch.plugins.module_utils import deploy_lock
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import status as activation_status
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import format_utc

MARKETPLACE_FLAGS = ("MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED")
PUBLIC_MODES = ("public_full", "public_soft")
# status_summary's in_effect: True, False, or None when it could not tell.
IN_EFFECT = {True: " (in effect)", False: " (not in effect now)",
             None: " (in effect: unknown, the flag store or a PF file could not be read)"}


def register(subparsers):
    parser = subparsers.add_parser(
        "status", help="access mode, marketplace phase and step, gate clocks, flags, last runs (read-only)",
        description="Reads each host's flag store, PF files, recorded activations and audit trail; changes nothing.")
    add_target_arguments(parser)
    parser.set_defaults(func=show)
    return parser


def _when(epoch):
    return format_utc(epoch) if isinstance(epoch, (int, float)) else "-"


def render(host, facts, now=None, sections=("all",)):
    """The status of one host as text."""
    s = activation_status.status_summary(facts, now=now)
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
        if launch:
            row("launch", "%s, applied %s by run %s%s" % (
                launch["key"].replace("launch_", ""), _when(launch["applied_at"]), launch["run_id"],
                "" if launch["in_effect"] else IN_EFFECT[launch["in_effect"]]))
        elif s["access_mode"] in PUBLIC_MODES:
            row("launch", "none recorded, yet the access mode is %s (see PROBLEM)" % s["access_mode"])
        else:
            row("launch", "not launched")
        emergency = s["emergency"]
        if emergency:
            row("emergency switch", "pulled %s by run %s%s" % (
                _when(emergency["applied_at"]), emergency["run_id"], IN_EFFECT[emergency["in_effect"]]))
        lock = facts.get("lock") or {}
        holder = lock.get("holder")
        row("deployment lock", "held by %s%s" % (
            lock.get("text") or "run %s (user %s)" % (holder.get("run_id", "?"), holder.get("user", "?")),
            ", holder gone: %s" % lock["gone_reason"] if lock.get("gone_reason") else "") if holder else "free")
    if every and s["gateway"]:
        row("gateway serves", s["gateway"])
    scripts = facts.get("scripts") or {}
    if every and scripts.get("rollback"):
        # Ours by name and marker (audit_log.newest_scripts), never the
        # platform's rollback-YYYYmmdd-HHMMSS.sh beside it.
        row("on-host rollback", "sudo %s" % scripts["rollback"])
    if every and scripts.get("emergency"):
        row("on-host switch", "sudo %s" % scripts["emergency"])
    flags = s["flags"] if every else dict((k, v) for k, v in s["flags"].items() if k in MARKETPLACE_FLAGS)
    if flags:
        lines.append("  flags (effective)")
        for name in sorted(flags):
            lines.append("    %-34s %s" % (name, "on" if flags[name] else "off"))
    if every and s["last_runs"]:
        lines.append("  last runs")
        for run in s["last_runs"]:
            lines.append("    %-20s %-10s %-11s %-10s %s" % (
                _when(run.get("completed") or run.get("started")), run.get("kind", "?"),
                run.get("playbook") or "?", run.get("status") or run.get("state") or "?", run.get("run_id") or "?"))
    for problem in s["problems"]:
        row("PROBLEM", problem)
    return "\n".join(lines)


def query(args):
    """{host: facts} from one ad-hoc module run; (facts, exit code)."""
    inventory = os.path.abspath(args.inventory)
    if not os.path.exists(inventory):
        print("nexusctl: -i %s: no such inventory file or directory" % args.inventory, file=sys.stderr)
        return {}, EXIT_USAGE
    try:
        dummy, words = read_extra_vars(args.extra_vars)
    except ValueError as exc:
        print("nexusctl: %s" % exc, file=sys.stderr)
        return {}, EXIT_USAGE
    results, failures = {}, []

    def collect(event):
        data = event.get("event_data", {})
        action = data.get("task_action") or ""
        if event.get("event") == "runner_on_ok" and action.endswith("activation_info"):
            results.setdefault(data.get("host"), {}).update(data.get("res") or {})
        elif event.get("event") == "runner_on_ok" and action.endswith("gateway_verify"):
            res = data.get("res") or {}
            results.setdefault(data.get("host"), {})["gateway"] = {"seen": res.get("seen") or {},
                                                                   "msg": res.get("msg") or ""}
        elif event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            failures.append((event["event"], data.get("host"), (data.get("res") or {}).get("msg", "")))
        return True

    result, private = run_ansible_runner(
        "nexusctl-status-", playbook=os.path.join(ROOT, "playbooks", "status.yml"), inventory=inventory,
        limit=args.limit, cmdline=" ".join(shlex.quote(w) for w in words) or None, event_handler=collect,
        verbosity=args.verbose or None)
    nothing = no_hosts_matched(result, "status.yml", args)
    if nothing:
        print(nothing, file=sys.stderr)
        return results, EXIT_USAGE
    for kind, host, msg in failures:
        print("nexusctl status: %s: %s" % (host, msg), file=sys.stderr)
    what = interruption(result, [(host, msg) for dummy, host, msg in failures])
    if what:
        report_interruption(what, args, private, changes=False)
        return results, exit_code_of_interruption(result)
    if any(kind == "runner_on_unreachable" for kind, dummy, dummy in failures):
        return results, EXIT_UNREACHABLE
    if failures or not results:
        if not failures:
            print("nexusctl status: no host of group nexus_vps answered (inventory %s)" % args.inventory,
                  file=sys.stderr)
        return results, EXIT_ERROR
    return results, EXIT_OK


def controller_view(facts, hostname=None, alive=None):
    """``facts`` with the deployment lock as this controller sees it. The
    host can only tell a holder is gone when its lease ended; a holder
    started from this machine is checked here by its pid (as the next run's
    deploy_lock does): gone, or known to be running (lock ``alive``)."""
    hostname = hostname or socket.gethostname()
    alive = alive or deploy_lock.pid_alive
    lock = dict(facts.get("lock") or {})
    holder = lock.get("holder") or {}
    if holder.get("controller") != hostname or not holder.get("pid") or lock.get("gone_reason"):
        return facts
    if alive(holder["pid"]):
        lock["alive"] = True
    else:
        lock["gone_reason"] = "its ansible-playbook (pid %s on this controller, %s) has exited" % (
            holder["pid"], hostname)
    return dict(facts, lock=lock)


def show(args, sections=("all",)):
    results, code = query(args)
    results = dict((host, controller_view(facts)) for host, facts in results.items())
    if json_output.wanted(args):
        # nexusctl --json prints it: {"result": {host: summary}}
        json_output.record(dict((host, activation_status.status_summary(facts)) for host, facts in sorted(results.items())))
    else:
        print("\n\n".join(render(host, facts, sections=sections) for host, facts in sorted(results.items())))
    return code
