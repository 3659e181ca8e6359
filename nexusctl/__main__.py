# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl: the operator's front door to the Nexus COS launch collection.

Exit codes: nexusctl/exit_codes.py (printed by nexusctl --help).
"""

from __future__ import annotations

import argparse
import os
import sys

from ansible_collections.nexus_cos.launch.nexusctl import (
    check_mode, cmd_audit, cmd_deploy, cmd_guard, cmd_launch, cmd_marketplace, cmd_report, cmd_rollback, cmd_status,
    cmd_validate, json_output, playbook_run, state_dir, version)
from ansible_collections.nexus_cos.launch.nexusctl.exit_codes import EXIT_CANCELED, EXIT_CODES, EXIT_ERROR, EXIT_USAGE, PLAN_ERROR
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import add_target_arguments, merge_target_options, pinned_refusal


class _Version(argparse.Action):
    """--version, read when asked (not on every start)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version.version_text())
        parser.exit()


def add_output_arguments(parser):
    """--json on every parser, so it may stand before or after the command;
    SUPPRESS keeps a later parser's default from undoing an earlier --json."""
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="one JSON document on stdout (the command's result; shape in the README), "
                             "every message on stderr")
    for action in parser._actions:    # pylint: disable=protected-access
        if isinstance(action, argparse._SubParsersAction):    # pylint: disable=protected-access
            for sub in action.choices.values():
                add_output_arguments(sub)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="nexusctl", description="Nexus COS Phase 4 launch: prechecks, audit, activation, rollback.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_target_arguments(parser, place="global")
    parser.add_argument("--version", action=_Version, help="the collection's version and ansible-core's, then exit")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="where nexusctl keeps artifacts/ (reports, audit heads) and artifacts/runner/ (default: "
                             "$%s, else a checkout's own directory, else $XDG_STATE_HOME/%s or ~/.local/state/%s; "
                             "never inside an installed collection)" % (state_dir.STATE_ENV, state_dir.APP, state_dir.APP))
    parser.add_argument("--keep-runs", metavar="N",
                        help="runner records kept in artifacts/runner/, newest first (default $%s, else %d)"
                             % (state_dir.KEEP_ENV, state_dir.DEFAULT_KEEP_RUNS))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (cmd_deploy, cmd_marketplace, cmd_launch, cmd_guard, cmd_rollback, cmd_status, cmd_validate, cmd_audit, cmd_report):
        module.register(commands)
    add_output_arguments(parser)
    return parser


def command_name(args):
    sub = getattr(args, "%s_command" % args.command, None) if getattr(args, "command", None) else None
    return " ".join(filter(None, (getattr(args, "command", None), sub)))


def parse(argv=None):
    """(parser, args): the command line parsed, the target options given
    before, between and after the commands merged into args."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "command", None):
        sub = getattr(args, "%s_command" % args.command, None)
        problem = merge_target_options(args, "nexusctl %s" % " ".join(filter(None, (args.command, sub))))
        chose = sub is not None or not hasattr(args, "%s_command" % args.command)
        if problem and chose:    # a group without its command prints its own usage
            parser.error(problem)
    return parser, args


def main(argv=None):
    try:
        parser, args = parse(argv)
    except SystemExit as exc:
        # argparse's usage error is 2, which --detailed-exitcode keeps for "changes pending".
        if exc.code == EXIT_USAGE and "--detailed-exitcode" in (sys.argv[1:] if argv is None else argv):
            return PLAN_ERROR
        raise
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    # Before a command asks for anything (an approver's secret) or starts a run.
    refusal = pinned_refusal(getattr(args, "extra_vars", None)) or check_mode.usage_problem(args)
    if refusal:
        print("nexusctl: %s" % refusal, file=sys.stderr)
        return _emit(args, check_mode.exit_code(args, EXIT_USAGE))
    try:
        playbook_run.configure_state(args.state_dir, args.keep_runs)
    except state_dir.StateDirError as exc:
        print("nexusctl: %s" % exc, file=sys.stderr)
        return _emit(args, check_mode.exit_code(args, EXIT_USAGE))
    if not json_output.wanted(args):
        return _run(args)
    # Whatever a command prints for a person goes to stderr; stdout gets the one document.
    stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        code = _run(args)
    finally:
        sys.stdout = stdout
    return _emit(args, code)


def _emit(args, code):
    if json_output.wanted(args):
        try:
            print(json_output.document(command_name(args), code))
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code


def _run(args):
    try:
        return check_mode.exit_code(args, args.func(args))
    except BrokenPipeError:
        # The reader went away (nexusctl status | head): not worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return check_mode.exit_code(args, EXIT_ERROR)
    except KeyboardInterrupt:
        # Ctrl-C outside a run (a run handles it itself: run_cancel.py).
        print("nexusctl: canceled by SIGINT; if a run was under way, `nexusctl status` shows the deployment lock "
              "and the flags as they are now", file=sys.stderr)
        return check_mode.exit_code(args, EXIT_CANCELED)


if __name__ == "__main__":
    sys.exit(main())
