# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl: the operator's front door to the Nexus COS launch collection.

Exit codes (the same for every subcommand):
  0  done, everything passed
  1  a check, gate or verification refused (the run worked and said no)
  2  usage error: bad arguments, missing file or directory
  3  a host could not be reached
  4  anything else failed (ansible-runner, an unexpected error)
"""

from __future__ import annotations

import argparse
import sys

from ansible_collections.nexus_cos.launch.nexusctl import (
    cmd_audit, cmd_deploy, cmd_launch, cmd_marketplace, cmd_rollback, cmd_status, cmd_validate)

EXIT_CODES = __doc__[__doc__.index("Exit codes"):]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="nexusctl", description="Nexus COS Phase 4 launch: prechecks, audit, activation, rollback.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (cmd_deploy, cmd_marketplace, cmd_launch, cmd_rollback, cmd_status, cmd_validate, cmd_audit):
        module.register(commands)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("nexusctl: interrupted", file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
