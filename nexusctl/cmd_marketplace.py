# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl marketplace enable --phase 3 --step N / marketplace status:
one progressive Phase 3 step (playbooks/marketplace.yml), or where the
marketplace stands."""

from __future__ import annotations

import sys

from ansible_collections.nexus_cos.launch.nexusctl import cmd_status
from ansible_collections.nexus_cos.launch.nexusctl.check_mode import add_check_arguments
from ansible_collections.nexus_cos.launch.nexusctl.exit_codes import EXIT_USAGE
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import add_target_arguments, run_playbook


def register(subparsers):
    parser = subparsers.add_parser(
        "marketplace", help="marketplace Phase 3 steps: enable one, or show where they stand",
        description="Marketplace Phase 3 progressive steps (DESIGN section 6).")
    add_target_arguments(parser, place="group")
    commands = parser.add_subparsers(dest="marketplace_command", metavar="{enable,status}")
    parser.set_defaults(func=lambda args: _usage(parser))

    enable = commands.add_parser(
        "enable", help="switch on one step (gated; a step already applied changes nothing)",
        description="Step 1 needs a passing Phase 4 prepare run of the last 24 h; steps 2 and 3 open 7 days "
                    "after the recorded activation of the step before; step 4 after step 3 (auctions only once "
                    "Phase 4 is live). The gateway must confirm the change or it is rolled back automatically.")
    add_target_arguments(enable)
    enable.add_argument("--phase", type=int, required=True, choices=[3], help="marketplace phase (3)")
    enable.add_argument("--step", type=int, required=True, choices=[1, 2, 3, 4], help="the step, 1 to 4")
    enable.add_argument("--force-reason", metavar="TEXT",
                        help="force a refused gate, giving the reason (audited as GATE_FORCED)")
    add_check_arguments(enable, "preview the step: each gate's verdict and the flag and PF diffs; writes nothing")
    enable.set_defaults(func=run_enable)

    status = commands.add_parser("status", help="phase, step, gate clocks and marketplace flags (read-only)")
    add_target_arguments(status)
    status.set_defaults(func=lambda args: cmd_status.show(args, sections=("marketplace",)))
    return parser


def _usage(parser):
    parser.print_usage(sys.stderr)
    print("nexusctl marketplace: choose a command: enable or status", file=sys.stderr)
    return EXIT_USAGE


def step_vars(args):
    """Extra vars of playbooks/marketplace.yml for these arguments."""
    extra = {"marketplace_step_phase": args.phase, "marketplace_step_number": args.step}
    if args.force_reason is not None:
        if not args.force_reason.strip():
            raise ValueError("--force-reason is empty; give the reason in words")
        extra["activation_force_reason"] = args.force_reason.strip()
    return extra


def run_enable(args):
    try:
        extra = step_vars(args)
    except ValueError as exc:
        print("nexusctl marketplace enable: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    return run_playbook("marketplace.yml", args, extravars=extra, check=args.check, diff=args.check)
