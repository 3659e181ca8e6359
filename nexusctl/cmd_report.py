# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl report [RUN] [--dir DIR]: the launch report of a run written
again from its stored data (summary-HOST.json, kept beside the summary by
every run), one page a host: summary-HOST.html. No host is contacted."""

from __future__ import annotations

import glob
import os
import sys

from ansible_collections.nexus_cos.launch.nexusctl import playbook_run, state_dir
from ansible_collections.nexus_cos.launch.nexusctl.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import write_atomic
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import launch_report

DATA_GLOB = "summary-*.json"


def register(subparsers):
    parser = subparsers.add_parser(
        "report", help="write a run's launch report (HTML) again from its stored data",
        description="Writes the one-page launch report of a run (artifacts/RUN/summary-HOST.html) again from the data "
                    "the run stored beside it (summary-HOST.json): prechecks and their fixes, the gate, approvals and "
                    "waivers, the timelines, the guard's watch, the audit chain head, the rollback and emergency "
                    "commands. No host is contacted. Open the file in a browser; it needs nothing else.")
    parser.add_argument("run", nargs="?", metavar="RUN", help="the run id (default: the newest run with a report)")
    parser.add_argument("--dir", metavar="DIR",
                        help="where the runs' directories are (default: artifacts/ of the state directory, --state-dir)")
    parser.set_defaults(func=run_report)
    return parser


def newest_run(directory):
    """The newest run id in ``directory`` with report data, or None (run
    ids begin with their UTC start, so they sort by time)."""
    runs = sorted(name for name in os.listdir(directory) if glob.glob(os.path.join(directory, name, DATA_GLOB)))
    return runs[-1] if runs else None


def write_reports(run_dir):
    """Render every summary-HOST.json of ``run_dir`` to its .html; the paths
    written. ValueError names a file that is not report data."""
    written = []
    for data_path in sorted(glob.glob(os.path.join(run_dir, DATA_GLOB))):
        data = launch_report.load_data(data_path)
        page = data_path[:-len(".json")] + ".html"
        write_atomic(page, launch_report.render(data), mode=0o640)
        written.append(page)
    return written


def run_report(args):
    if args.dir is None:
        args.dir = state_dir.artifacts_dir(playbook_run.current_state()[0])
    if not os.path.isdir(args.dir):
        print("nexusctl report: --dir %s: no such directory; expected the artifacts directory of the runs"
              % args.dir, file=sys.stderr)
        return EXIT_USAGE
    run = args.run or newest_run(args.dir)
    if run is None:
        print("nexusctl report: no run in %s has report data (%s); run a playbook first (nexusctl deploy)"
              % (args.dir, DATA_GLOB), file=sys.stderr)
        return EXIT_USAGE
    run_dir = os.path.join(args.dir, run)
    if os.sep in run or run in (".", "..") or not glob.glob(os.path.join(run_dir, DATA_GLOB)):
        print("nexusctl report: run %s: no report data (%s) in %s; expected a run id from %s"
              % (run, DATA_GLOB, run_dir, args.dir), file=sys.stderr)
        return EXIT_USAGE
    try:
        written = write_reports(run_dir)
    except ValueError as exc:
        print("nexusctl report: %s" % exc, file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print("nexusctl report: could not write the report in %s: %s" % (run_dir, exc), file=sys.stderr)
        return EXIT_ERROR
    for path in written:
        print(path)
    return EXIT_OK
