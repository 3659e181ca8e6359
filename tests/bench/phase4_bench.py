#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""make bench: the Phase 4 prepare run beside a one-task no-op play, on the
same inventory, in the same session.

Reports the median wall time of each over N runs, their ratio, and the
number of remote commands each run makes. Remote commands are counted from
the connection's own log (-vvv prints one EXEC line per command sent to the
host); with pipelining, each module execution is one command.

Targets (issue: the twelve checks must not cost twelve round trips): at most
8 remote module executions and at most 4x the no-op play's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXEC_LINE = re.compile(r"^\s*(<[^>]+> )?EXEC ", re.M)


def playbook(args, path, extra=(), verbose=False):
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", args.inventory, path]
    cmd += list(extra)
    if verbose:
        cmd.append("-vvv")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        raise SystemExit("bench: %s failed (rc %d)" % (os.path.basename(path), proc.returncode))
    return elapsed, proc.stdout


def measure(args, path):
    times = [playbook(args, path)[0] for _ in range(args.runs)]
    _, log = playbook(args, path, verbose=True)
    return {"median_s": round(statistics.median(times), 2), "runs_s": [round(t, 2) for t in times],
            "remote_commands": len(EXEC_LINE.findall(log))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inventory", default=os.path.join(ROOT, "inventories", "sandbox"))
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each play (median reported)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    noop = measure(args, os.path.join(ROOT, "tests", "bench", "noop.yml"))
    phase4 = measure(args, os.path.join(ROOT, "playbooks", "phase4.yml"))
    ratio = phase4["median_s"] / noop["median_s"]
    figures = {"noop": noop, "phase4": phase4, "ratio": round(ratio, 2),
               "targets": {"remote_commands_max": 8, "ratio_max": 4.0}}
    print("no-op play:   median %5.2f s  (%s)  remote commands %d" % (
        noop["median_s"], ", ".join("%.2f" % t for t in noop["runs_s"]), noop["remote_commands"]))
    print("phase4 play:  median %5.2f s  (%s)  remote commands %d" % (
        phase4["median_s"], ", ".join("%.2f" % t for t in phase4["runs_s"]), phase4["remote_commands"]))
    print("ratio phase4/no-op: %.2f (target <= 4.0); phase4 remote commands %d (target <= 8)" % (
        ratio, phase4["remote_commands"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)
    ok = ratio <= 4.0 and phase4["remote_commands"] <= 8
    print("within targets" if ok else "OUTSIDE TARGETS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
