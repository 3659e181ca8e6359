# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl rollback [RUN] [--force] / rollback --emergency: restore the
state a run snapshotted (playbooks/rollback.yml), or pull the kill switch
(playbooks/emergency.yml)."""

from __future__ import annotations

import sys

from ansible_collections.nexus_cos.launch.nexusctl.check_mode import add_check_arguments
from ansible_collections.nexus_cos.launch.nexusctl.exit_codes import EXIT_USAGE
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import add_target_arguments, run_playbook


def register(subparsers):
    parser = subparsers.add_parser(
        "rollback", help="restore what a run snapshotted, or --emergency: the kill switch",
        description="Restore the flag store and PF files exactly as run RUN (its stamp or id; default the newest "
                    "snapshot) found them, reload the gateway and verify it. Refused when the files changed since "
                    "that run, unless --force. --emergency: public signups off, new transactions frozen, founder "
                    "mode, whatever the state (itself snapshotted, so it can be rolled back in turn).")
    add_target_arguments(parser)
    parser.add_argument("run", nargs="?", metavar="RUN", help="the run to roll back: its stamp or run id")
    parser.add_argument("--force", action="store_true",
                        help="restore even files someone else changed since that run (kept under displaced/)")
    parser.add_argument("--emergency", action="store_true", help="the kill switch instead of a restore")
    parser.add_argument("--reason", metavar="TEXT", help="why the kill switch is pulled (audited)")
    parser.add_argument("--keep-lock", action="store_true",
                        help="with --emergency: stop if another run holds the lock instead of breaking it")
    add_check_arguments(parser, "preview the restore or the kill switch: the flag and PF diffs; writes nothing")
    parser.set_defaults(func=run_rollback)
    return parser


def rollback_plan(args):
    """(playbook, extra vars) for these arguments; ValueError for a bad combination."""
    if args.emergency:
        if args.run or args.force:
            raise ValueError("--emergency takes no RUN and no --force: the kill switch works from whatever state")
        extra = {"emergency_switch_break_lock": not args.keep_lock}
        if args.reason:
            extra["emergency_switch_reason"] = args.reason
        return "emergency.yml", extra
    if args.reason or args.keep_lock:
        raise ValueError("--reason and --keep-lock go with --emergency")
    extra = {"rollback_force": bool(args.force)}
    if args.run:
        extra["rollback_run"] = args.run
    return "rollback.yml", extra


def run_rollback(args):
    try:
        playbook, extra = rollback_plan(args)
    except ValueError as exc:
        print("nexusctl rollback: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    return run_playbook(playbook, args, extravars=extra, check=args.check, diff=args.check)
