# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl launch --mode global|soft --confirm --approver NAME ...: the
Phase 4 public launch (playbooks/launch.yml).

Each approver's secret is read from NEXUS_APPROVER_<NAME>_SECRET or, on a
terminal, asked for without echo. Secrets never go on a command line or
into the environment ansible-runner records (playbook_run gives it an
allow-listed one): they are handed to the run in a file only its owner can
read, named by NEXUS_LAUNCH_APPROVALS_FILE and removed when the run ends;
the run's extra vars carry the names only. The file binds the approvals to
the run: it names the run id nexusctl gives the run (nexus_run_id), when it
was issued and a random nonce, which the gate accepts once."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import sys
import tempfile

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.nexus_cos.launch.nexusctl.arg_types import MINUTES
from ansible_collections.nexus_cos.launch.nexusctl.check_mode import add_check_arguments
from ansible_collections.nexus_cos.launch.nexusctl.exit_codes import EXIT_REFUSED, EXIT_USAGE
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import add_target_arguments, parse_extra_vars, run_playbook
from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import new_run_id
from ansible_collections.nexus_cos.launch.plugins.plugin_utils.approvals import SECRETS_FILE_ENV, new_approvals_file, secret_env_name

CONFIRM_REFUSAL = ("the Phase 4 launch changes public access and needs an explicit confirmation: nexusctl launch "
                   "--confirm, or -e nexus_launch_confirm=true")


def register(subparsers):
    parser = subparsers.add_parser(
        "launch", help="the Phase 4 public launch (gated: --confirm, prechecks, two approvals, PF launch gates)",
        description="Needs --confirm, a passing Phase 4 prepare run of the last 24 h, approvals by distinct "
                    "approvers holding the roles global-launch.yaml names (their secrets checked against the "
                    "password hashes in the inventory's nexus_launch_approvers), and every PF launch gate "
                    "passed or waived with a reason. The gateway must confirm the new access mode or the "
                    "change is rolled back automatically; a confirmed launch is then watched by the launch guard "
                    "(15 minutes by default, its progress shown) once the deployment lock is released.")
    add_target_arguments(parser)
    parser.add_argument("--mode", choices=["global", "soft"], required=True,
                        help="global: full public launch; soft: the throttled soft launch")
    parser.add_argument("--confirm", action="store_true", help="confirm the launch (required)")
    parser.add_argument("--approver", action="append", default=[], metavar="NAME",
                        help="an approver (repeat for each); secret from NEXUS_APPROVER_<NAME>_SECRET or a prompt")
    parser.add_argument("--waive", action="append", default=[], metavar="GATE=REASON",
                        help="waive a PF launch gate with a reason (audited; repeatable)")
    parser.add_argument("--force-reason", metavar="TEXT",
                        help="force the prepare-run gate, giving the reason (approvals and launch gates are never forced)")
    add_check_arguments(parser, "preview the launch: each gate's verdict, what a real run needs (confirmation, "
                                "approvals, waivers) and the flag and PF diffs; needs no --confirm and no secret, "
                                "writes nothing")
    guard = parser.add_mutually_exclusive_group()
    guard.add_argument("--guard-minutes", type=MINUTES, metavar="N",
                       help="watch the launched platform for N minutes afterwards (default launch_guard_minutes, 15); "
                            "the launch guard pulls the emergency switch on a critical breach")
    guard.add_argument("--no-guard", action="store_true", help="do not run the launch guard after the launch")
    parser.set_defaults(func=run_launch)
    return parser


def parse_waivers(items):
    waivers = {}
    for item in items:
        gate, sep, reason = item.partition("=")
        if not sep or not gate.strip() or not reason.strip():
            raise ValueError("--waive %r: expected GATE=REASON with a reason in words" % item)
        waivers[gate.strip()] = reason.strip()
    return waivers


def read_secrets(names, environ=None, ask=None, interactive=None):
    """{name: secret}: from the environment, else asked on the terminal."""
    environ = os.environ if environ is None else environ
    ask = ask or getpass.getpass
    interactive = sys.stdin.isatty() if interactive is None else interactive
    secrets = {}
    for name in names:
        secret = environ.get(secret_env_name(name))
        if not secret:
            if not interactive:
                raise ValueError("no secret for approver %s: set %s, or run on a terminal to be asked"
                                 % (name, secret_env_name(name)))
            secret = ask("secret of approver %s: " % name)
        if not secret:
            raise ValueError("approver %s: empty secret" % name)
        secrets[name] = secret
    return secrets


@contextlib.contextmanager
def secrets_file(secrets, run_id, environ=None):
    """A 0600 file holding the secrets, bound to the run ``run_id``
    (approvals.new_approvals_file), named in the environment for the length
    of the run (the NEXUS_APPROVER_* variables themselves are not on the
    run's allow-list)."""
    environ = os.environ if environ is None else environ
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    directory = tempfile.mkdtemp(prefix="nexusctl-approvals-", dir=base)
    path = os.path.join(directory, "approvals.json")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(new_approvals_file(secrets, run_id), handle)
        environ[SECRETS_FILE_ENV] = path
        yield path
    finally:
        environ.pop(SECRETS_FILE_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


def confirmed(args):
    """--confirm, or -e nexus_launch_confirm=true as the playbook takes it."""
    if args.confirm:
        return True
    value = parse_extra_vars(args.extra_vars).get("nexus_launch_confirm", False)
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise ValueError("-e nexus_launch_confirm=%s: expected true or false" % (value,))


def launch_vars(args):
    names = []
    for name in args.approver:
        if name in names:
            raise ValueError("--approver %s is given twice; the approvals must come from distinct people" % name)
        names.append(name)
    extra = {"nexus_launch_confirm": confirmed(args), "launch_global_mode": args.mode,
             "nexus_launch_approvals": [{"name": n} for n in names], "launch_waivers": parse_waivers(args.waive)}
    if args.force_reason is not None:
        if not args.force_reason.strip():
            raise ValueError("--force-reason is empty; give the reason in words")
        extra["activation_force_reason"] = args.force_reason.strip()
    if args.no_guard:
        extra["launch_guard_after_launch"] = False
    elif args.guard_minutes is not None:
        extra["launch_guard_minutes"] = args.guard_minutes
    return extra, names


def run_launch(args):
    try:
        # A preview changes nothing: its gate lists the confirmation a real run needs.
        if not confirmed(args) and not args.check:
            print("nexusctl launch: %s" % CONFIRM_REFUSAL, file=sys.stderr)
            return EXIT_REFUSED
        extra, names = launch_vars(args)
        secrets = read_secrets(names)
    except ValueError as exc:
        print("nexusctl launch: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    # The run id is chosen here so the approvals can name the run they approve.
    extra["nexus_run_id"] = new_run_id()
    with secrets_file(secrets, extra["nexus_run_id"]):
        return run_playbook("launch.yml", args, extravars=extra, check=args.check, diff=args.check)
