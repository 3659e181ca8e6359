# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""`nexusctl audit verify` and `nexusctl audit tail`: check and read an audit
trail directory (on the host, or a copy fetched to the controller).

Files of another tool in the directory (the platform deploy script's
console logs, named like chain files but carrying no chain field) are
listed as not part of the chain and never counted as tampering.

Exit codes: 0 intact, 1 tampered, 2 usage (directory or head file missing or
unreadable).
"""

from __future__ import annotations

import json
import sys

from ansible_collections.nexus_cos.launch.nexusctl import json_output
from ansible_collections.nexus_cos.launch.nexusctl.exit_codes import EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import DEFAULT_INVENTORY, add_target_arguments, run_playbook
from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log

EXIT_TAMPERED = EXIT_REFUSED     # the chain does not verify


def register(subparsers):
    parser = subparsers.add_parser(
        "audit", help="verify or read the tamper-evident audit trail",
        description="Verify or read the audit trail of a Phase 4 audit directory.")
    add_target_arguments(parser, place="group")
    commands = parser.add_subparsers(dest="audit_command", metavar="{verify,tail}")
    parser.set_defaults(func=lambda args: _usage(parser))

    verify = commands.add_parser(
        "verify", help="check the hash chain; exit 0 intact, 1 tampered or record times going backwards, 2 usage",
        description="Check every record of every chain file in DIR: order, gaps, edits, inserted lines, "
                    "and (with --head) that nothing was cut off after the exported head. With -i instead of "
                    "--dir: verify on the hosts of that inventory, against the chain heads kept in artifacts/ of "
                    "the state directory. With neither: the hosts of the sandbox inventory. "
                    "Records dated before the record before them are a warning (exit 1), not tampering.")
    verify.add_argument("--dir", metavar="DIR", help="an audit directory on this machine (or a copy)")
    add_target_arguments(verify, default_inventory=None)
    verify.add_argument("--head", metavar="FILE",
                        help="exported head (JSON with seq and chain) copied to the controller after a run")
    verify.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format (default text)")
    verify.set_defaults(func=run_verify)

    tail = commands.add_parser("tail", help="print the last records, by seq, across all chain files",
                               description="Print the last N records, oldest first: of DIR (--dir), or on the hosts "
                                           "of an inventory (-i; with neither, the sandbox's).")
    tail.add_argument("--dir", metavar="DIR", help="an audit directory on this machine (or a copy)")
    add_target_arguments(tail, default_inventory=None)
    tail.add_argument("-n", type=int, default=20, metavar="N", help="number of records (default 20)")
    tail.set_defaults(func=run_tail)
    return parser


def _usage(parser):
    parser.print_usage(sys.stderr)
    print("nexusctl audit: choose a command: verify or tail", file=sys.stderr)
    return EXIT_USAGE


def where_problem(args):
    """What is wrong with where verify or tail should look, or None. With
    neither --dir nor -i, the hosts of the sandbox inventory, as for every
    other command."""
    if args.dir is not None and args.inventory is not None:
        return "give either --dir DIR (a directory here) or -i INVENTORY (on the hosts), not both"
    if args.dir is None and args.inventory is None:
        args.inventory = DEFAULT_INVENTORY
    if args.dir is not None:
        given = [flag for flag, value in (("-l/--limit", args.limit), ("-e/--extra-vars", args.extra_vars),
                                          ("-v/--verbose", args.verbose)) if value]
        if given:
            return "%s go with -i INVENTORY; --dir reads a directory here" % ", ".join(given)
    return None


def verify_usage_problem(args):
    """What is wrong with where verify should look, or None."""
    problem = where_problem(args)
    if problem:
        return problem
    if args.dir is None and (args.head or args.format != "text"):
        return "--head and --format go with --dir; with -i the run checks the heads kept in artifacts/"
    return None


def run_verify(args):
    problem = verify_usage_problem(args)
    if problem:
        print("nexusctl audit verify: %s" % problem, file=sys.stderr)
        return EXIT_USAGE
    if args.inventory is not None:
        return run_playbook("audit_verify.yml", args)
    head = None
    if args.head:
        try:
            head = audit_log.load_exported_head(args.head)
        except (OSError, ValueError) as exc:
            print("nexusctl audit verify: --head %s: %s" % (args.head, exc), file=sys.stderr)
            return EXIT_USAGE
    try:
        result = audit_log.verify_dir(args.dir, head=head)
    except FileNotFoundError as exc:
        print("nexusctl audit verify: --dir: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print("nexusctl audit verify: --dir %s: cannot read: %s" % (args.dir, exc), file=sys.stderr)
        return EXIT_USAGE
    document = {
        "ok": result.ok, "records": result.records, "head": result.head,
        "exported_head": head and {"seq": head["seq"], "chain": head["chain"]},
        "problems": [dict(problem._asdict()) for problem in result.problems],
        "time_problems": [dict(problem._asdict()) for problem in result.time_problems],
        "foreign": [dict(item._asdict()) for item in result.foreign]}
    json_output.record(document)
    if args.format == "json":
        print(json.dumps(document, indent=2, sort_keys=True))
        return verify_exit(result)
    head_text = _head_text(result.head)
    if result.ok:
        against = " (matches exported head seq %d)" % head["seq"] if head else ""
        print("audit trail intact: %d records, %s%s" % (result.records, head_text, against))
    else:
        print("audit trail TAMPERED: %s" % (result.first_problem,))
        print("%d problem(s) in %s (%d records, %s):" % (len(result.problems), args.dir, result.records, head_text))
        for problem in result.problems:
            print("  - %s" % (problem,))
    for line in audit_log.time_lines(result.time_problems):
        print(line)
    print_foreign(result.foreign)
    return verify_exit(result)


def verify_exit(result):
    """1 when the chain is tampered with or its times go backwards: gate
    decisions read those times, so a trail whose clock jumped back is not
    passed as sound, though it is told apart from tampering."""
    return EXIT_OK if result.ok and not result.time_problems else EXIT_TAMPERED


def print_foreign(foreign, stream=None):
    for line in audit_log.foreign_lines(foreign):
        print(line, file=stream or sys.stdout)


def _head_text(head):
    if not head["seq"]:
        return "no records"
    return "head seq %d chain %s at file %s line %d" % (head["seq"], head["chain"], head["file"], head["line"])


def run_tail(args):
    if args.n < 1:
        print("nexusctl audit tail: -n must be at least 1, got %d" % args.n, file=sys.stderr)
        return EXIT_USAGE
    problem = where_problem(args)
    if problem:
        print("nexusctl audit tail: %s" % problem, file=sys.stderr)
        return EXIT_USAGE
    if args.inventory is not None:
        return run_playbook("audit_tail.yml", args, extravars={"audit_tail_records": args.n})
    try:
        entries, bad_lines = audit_log.read_trail(args.dir)
    except FileNotFoundError:
        print("nexusctl audit tail: --dir: audit dir %s does not exist" % args.dir, file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print("nexusctl audit tail: --dir %s: cannot read: %s" % (args.dir, exc), file=sys.stderr)
        return EXIT_USAGE
    json_output.record({"dir": args.dir, "records": [entry_document(entry) for entry in entries[-args.n:]],
                        "not_records": len(bad_lines)})
    for entry in entries[-args.n:]:
        print(format_entry(entry))
    print_foreign(audit_log.foreign_files(args.dir), stream=sys.stderr)
    if bad_lines:
        print("nexusctl audit tail: %d line(s) are not audit records; run `nexusctl audit verify --dir %s`"
              % (len(bad_lines), args.dir), file=sys.stderr)
    return EXIT_OK


# One place (audit_log), so the host's audit_chain_info tail prints records alike.
format_entry = audit_log.entry_line


def entry_document(entry):
    """One record for nexusctl --json."""
    record = entry.record
    return {"seq": record.seq, "timestamp": record.timestamp, "event": record.event, "run": record.run,
            "fields": dict(record.fields), "file": entry.file, "line": entry.line}
