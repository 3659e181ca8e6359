# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl guard [--minutes N] [--alert-only]: the launch guard on its own
(playbooks/guard.yml). It watches the platform for the window with a
progress line a look; on a critical breach it pulls the emergency switch
(or only alerts) and exits 1 saying what it saw."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.nexusctl.arg_types import MINUTES
from ansible_collections.nexus_cos.launch.nexusctl.check_mode import add_check_arguments
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import add_target_arguments, run_playbook


def register(subparsers):
    parser = subparsers.add_parser(
        "guard", help="watch the platform for a window; pull the emergency switch on a critical breach",
        description="One look at the platform every few seconds (/health and its latency, the access mode and the "
                    "flags served, every PF health endpoint) for the window, with a progress line a look. On a "
                    "critical breach (by default the platform unavailable for longer than "
                    "launch_guard_unavailable_seconds, 30 s) the emergency switch is pulled, audited with what the "
                    "guard saw, and the command exits 1. Thresholds: -e launch_guard_* (see docs/variables.md). "
                    "It holds no deployment lock while it watches.")
    add_target_arguments(parser)
    parser.add_argument("--minutes", type=MINUTES, metavar="N",
                        help="length of the window (default launch_guard_minutes, 15)")
    parser.add_argument("--alert-only", action="store_true",
                        help="on a critical breach only alert (nexus_alert_channels); do not pull the switch")
    add_check_arguments(parser, "watch, but on a breach only say what the switch would change; audit and send nothing")
    parser.set_defaults(func=run_guard)
    return parser


def guard_vars(args):
    """The extra vars of these arguments (their values are checked by
    argparse, arg_types)."""
    extra = {}
    if args.minutes is not None:
        extra["launch_guard_minutes"] = args.minutes
    if args.alert_only:
        extra["launch_guard_on_critical"] = "alert"
    return extra


def run_guard(args):
    return run_playbook("guard.yml", args, extravars=guard_vars(args), check=args.check)
