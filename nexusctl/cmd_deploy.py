# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl deploy / precheck / unlock: the Phase 4 prepare run, its\nprechecks alone, and breaking the lock of a dead run."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.nexusctl.check_mode import add_check_arguments
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import add_target_arguments, run_playbook
# Importing the package registers the checks (its __init__ is the registry).
from ansible_collections.nexus_cos.launch.plugins.module_utils import checks  # noqa: F401 pylint: disable=unused-import
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import registered_names


def register(subparsers):
    deploy = subparsers.add_parser("deploy", help="the Phase 4 prepare run (playbooks/phase4.yml); changes no flag")
    add_target_arguments(deploy)
    add_check_arguments(deploy, "run in check mode, showing diffs; writes nothing")
    deploy.set_defaults(func=lambda args: run_playbook("phase4.yml", args, check=args.check, diff=args.check))

    names = registered_names()
    precheck = subparsers.add_parser("precheck", help="only the %d prechecks (lock, checks, reports)" % len(names))
    add_target_arguments(precheck)
    precheck.add_argument("--skip", action="append", default=[], metavar="CHECK",
                          help="skip a precheck by name (audited; repeatable): %s" % ", ".join(names))
    precheck.add_argument("--warn-only", action="append", default=[], metavar="CHECK",
                          help="downgrade a precheck's failure to a warning (audited; repeatable)")
    precheck.set_defaults(func=_precheck)

    unlock = subparsers.add_parser("unlock", help="break the deployment lock of a dead run (audited)")
    add_target_arguments(unlock)
    unlock.add_argument("--reason", required=True, help="why the lock is broken; written to the audit trail")
    add_check_arguments(unlock, "say whether the lock would be broken; break and audit nothing")
    unlock.set_defaults(func=lambda args: run_playbook("unlock.yml", args, extravars={"unlock_reason": args.reason},
                                                       check=args.check, diff=args.check))


def _precheck(args):
    extra = {}
    if args.skip:
        extra["precheck_skip"] = args.skip
    if args.warn_only:
        extra["precheck_warn_only"] = args.warn_only
    # The lock, the run id and the closing records are tagged always.
    return run_playbook("phase4.yml", args, extravars=extra, tags="precheck")
