# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""--check and --detailed-exitcode, the same on every command that changes
state: a preview runs the play in check mode with diffs. It needs no
confirmation and no secret, writes nothing (no audit record, no summary),
and shows the flag and PF diffs, each gate's verdict and what a real run
needs. Its exit code: nexusctl/exit_codes.py."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.nexusctl.exit_codes import EXIT_OK, EXIT_REFUSED, detailed_exit_code

DETAILED_REFUSAL = ("--detailed-exitcode goes with --check (it says whether a preview found changes pending); "
                    "add --check, or leave it out")


def add_check_arguments(parser, check_help):
    parser.add_argument("--check", action="store_true", help=check_help)
    parser.add_argument("--detailed-exitcode", action="store_true",
                        help="with --check, as terraform plan: exit 0 nothing to change, 2 changes pending, "
                             "1 error or a gate would refuse")


def usage_problem(args):
    """The usage error of the check options in ``args``, or ''."""
    if getattr(args, "detailed_exitcode", False) and not getattr(args, "check", False):
        return DETAILED_REFUSAL
    return ""


def changes_pending(stats):
    """Whether a check run's stats (ansible-runner's) count a change."""
    changed = (stats or {}).get("changed") or {}
    return any(count for count in changed.values()) if isinstance(changed, dict) else bool(changed)


def preview_refused(preview):
    """Whether a gate would refuse a real run, from the check run's
    nexus_preview stats {host: {refused, needs}} (role activation_gate)."""
    return any(isinstance(item, dict) and item.get("refused") for item in (preview or {}).values()) \
        if isinstance(preview, dict) else False


def preview_exit_code(args, stats, preview):
    """nexusctl's exit code of a check run that succeeded; records on
    ``args`` whether it found changes pending, for exit_code."""
    args.changes_pending = changes_pending(stats)
    return EXIT_REFUSED if preview_refused(preview) else EXIT_OK


def exit_code(args, code):
    """The exit code nexusctl ends with: ``code``, or with --detailed-exitcode
    the plan's code of exit_codes.detailed_exit_code."""
    if not getattr(args, "detailed_exitcode", False):
        return code
    return detailed_exit_code(code, getattr(args, "changes_pending", False))
