# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""`nexusctl validate`: precheck 7 (configuration) on a local checkout, with
no host and no Ansible run: the four PF files, the flag store, and the rules
between them.

Exit codes: 0 valid (warnings allowed), 1 invalid, 2 usage (a directory or
file given on the command line does not exist).
"""

from __future__ import annotations

import json
import os
import sys

from ansible_collections.nexus_cos.launch.nexusctl import host_paths, json_output
from ansible_collections.nexus_cos.launch.nexusctl.exit_codes import EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from ansible_collections.nexus_cos.launch.plugins.module_utils import nexus_config

EXIT_VALID, EXIT_INVALID = EXIT_OK, EXIT_REFUSED


def register(subparsers):
    parser = subparsers.add_parser(
        "validate", help="check the PF files and the flag store (precheck 7)",
        description="Validate the Phase 3/4 configuration of a Nexus COS checkout: the PF files "
                    "parse safely and match their schema, the flag store's requires name real "
                    "flags without cycles, and the files agree with each other. Exit 0 valid, "
                    "1 invalid, 2 usage error.")
    default, problem = _default_repo_dir()
    parser.add_argument("--repo-dir", default=default, metavar="DIR",
                        help="platform checkout (default: nexus_repo_dir of %s, %s)"
                        % (host_paths.DEFAULTS_RELPATH, default or problem))
    parser.set_defaults(repo_dir_problem=problem)
    parser.add_argument("--pf-dir", metavar="DIR", help="PF directory (default DIR/pfs)")
    parser.add_argument("--flag-store", metavar="FILE",
                        help="flag store (default DIR/config/feature-flags.json)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format (default text)")
    parser.set_defaults(func=run_validate)
    return parser


def _default_repo_dir():
    """(the host default of nexus_repo_dir, None) or (None, why it is unknown)."""
    try:
        return host_paths.host_default("nexus_repo_dir"), None
    except host_paths.HostPathsError as exc:
        return None, str(exc)


def usage_problems(args):
    """What is wrong with the command line itself (exit 2), as messages."""
    problems = []
    if args.repo_dir is None:
        return ["--repo-dir not given, and its default is unknown: %s; give --repo-dir DIR"
                % getattr(args, "repo_dir_problem", None)]
    if not os.path.isdir(args.repo_dir):
        problems.append("--repo-dir %s: not a directory; expected a Nexus COS checkout"
                        % args.repo_dir)
    if args.pf_dir is not None and not os.path.isdir(args.pf_dir):
        problems.append("--pf-dir %s: not a directory; expected the directory holding "
                        "the PF files" % args.pf_dir)
    if args.flag_store is not None and not os.path.isfile(args.flag_store):
        problems.append("--flag-store %s: no such file; expected feature-flags.json"
                        % args.flag_store)
    return problems


def run_validate(args):
    problems = usage_problems(args)
    if problems:
        for problem in problems:
            print("nexusctl validate: %s" % problem, file=sys.stderr)
        return EXIT_USAGE
    report = nexus_config.validate_repo(args.repo_dir, pf_dir=args.pf_dir,
                                        flag_store=args.flag_store)
    document = dict(report.to_dict(), repo_dir=args.repo_dir)
    json_output.record(document)
    if args.format == "json":
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        for line in report.render():
            print(line)
        print(summary_line(report, args.repo_dir))
    return EXIT_VALID if report.ok else EXIT_INVALID


def summary_line(report, repo_dir):
    counts = "%d error%s, %d warning%s in %d file%s" % (
        len(report.errors), "" if len(report.errors) == 1 else "s",
        len(report.warnings), "" if len(report.warnings) == 1 else "s",
        len(report.files), "" if len(report.files) == 1 else "s")
    if not report.ok:
        return "configuration INVALID: %s (%s)" % (counts, repo_dir)
    mode = report.facts.get("access_mode")
    return "configuration valid: %s (%s%s)" % (
        counts, repo_dir, ", access mode %s" % mode if mode else "")
