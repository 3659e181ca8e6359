# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""make bench: the collection's runs beside a one-task no-op play, on the
same inventory, in the same session. Wall time is the target; ratios
against the no-op play make the figures comparable on a noisy machine.

- phase4: playbooks/phase4.yml, target <= 4x the no-op play. The number of
  remote commands (one EXEC line per module execution with pipelining, from
  the connection's own -vvv log) is reported, not a target;
- kill switch through nexusctl: ``nexusctl rollback --emergency``, the whole
  command (ansible-runner included), target <= 3x the no-op play;
- kill switch on the host: ``nexus-emergency-<stamp>.sh``, timed on the host from
  start to exit after the platform was opened to the public by hand, target
  <= 0.5 s (the time until the gateway confirmed founder mode is shown too).
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
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        raise SystemExit("bench: %s failed (rc %d)" % (os.path.basename(path), proc.returncode))
    return elapsed, proc.stdout


def measure(args, path):
    times = [playbook(args, path)[0] for dummy in range(args.runs)]
    dummy, log = playbook(args, path, verbose=True)
    return {"median_s": round(statistics.median(times), 2), "runs_s": [round(t, 2) for t in times],
            "remote_commands": len(EXEC_LINE.findall(log))}


def nexusctl_emergency(args):
    """Wall times of ``nexusctl rollback --emergency``, each after the
    platform was opened to the public again (not timed)."""
    times = []
    for dummy in range(args.runs):
        playbook(args, os.path.join(ROOT, "tests", "bench", "emergency_onhost.yml"), ["-e", "bench_open_only=true"])
        cmd = [os.path.join(os.path.dirname(sys.executable), "nexusctl"), "-i", args.inventory, "rollback",
               "--emergency", "--reason", "bench"]
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
            raise SystemExit("bench: nexusctl rollback --emergency failed (rc %d)" % proc.returncode)
        times.append(elapsed)
    return {"median_s": round(statistics.median(times), 2), "runs_s": [round(t, 2) for t in times]}


def onhost_emergency(args):
    dummy, log = playbook(args, os.path.join(ROOT, "tests", "bench", "emergency_onhost.yml"),
                          ["-e", "bench_rounds=%d" % args.runs])
    rounds = [(int(w), float(c)) for w, c in re.findall(r"wall_ms=(\d+) confirmed_s=([0-9.]+)", log)]
    if len(rounds) != args.runs:
        raise SystemExit("bench: the on-host kill switch did not report %d rounds:\n%s" % (args.runs, log[-3000:]))
    return {"median_wall_s": round(statistics.median(w for w, dummy in rounds) / 1000.0, 3),
            "median_confirmed_s": round(statistics.median(c for dummy, c in rounds), 3),
            "runs_wall_s": [round(w / 1000.0, 3) for w, dummy in rounds]}


TARGETS = {"phase4_ratio_max": 4.0, "nexusctl_emergency_ratio_max": 3.0, "onhost_emergency_s_max": 0.5}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inventory", default=os.path.join(ROOT, "inventories", "sandbox"))
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (median reported)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--no-target", action="store_true",
                        help="report the figures, judge no target (make bench-smoke: a tiny run that it still works)")
    args = parser.parse_args()
    if args.runs < 1:
        raise SystemExit("bench: --runs %d: expected 1 or more" % args.runs)

    noop = measure(args, os.path.join(ROOT, "tests", "bench", "noop.yml"))
    phase4 = measure(args, os.path.join(ROOT, "playbooks", "phase4.yml"))
    emergency = nexusctl_emergency(args)
    onhost = onhost_emergency(args)
    figures = {"noop": noop, "phase4": phase4, "nexusctl_emergency": emergency, "onhost_emergency": onhost,
               "ratios": {"phase4": round(phase4["median_s"] / noop["median_s"], 2),
                          "nexusctl_emergency": round(emergency["median_s"] / noop["median_s"], 2)},
               "targets": TARGETS}
    ratios = figures["ratios"]
    print("no-op play:          median %5.2f s  (%s)  remote commands %d" % (
        noop["median_s"], ", ".join("%.2f" % t for t in noop["runs_s"]), noop["remote_commands"]))
    print("phase4 play:         median %5.2f s  (%s)  remote commands %d" % (
        phase4["median_s"], ", ".join("%.2f" % t for t in phase4["runs_s"]), phase4["remote_commands"]))
    print("nexusctl emergency:  median %5.2f s  (%s)" % (
        emergency["median_s"], ", ".join("%.2f" % t for t in emergency["runs_s"])))
    print("on-host emergency:   median %5.3f s wall, gateway confirmed founder mode %.3f s after the start  (%s)" % (
        onhost["median_wall_s"], onhost["median_confirmed_s"], ", ".join("%.3f" % t for t in onhost["runs_wall_s"])))
    checks = [
        ("phase4 / no-op", ratios["phase4"], TARGETS["phase4_ratio_max"], "x"),
        ("nexusctl emergency / no-op", ratios["nexusctl_emergency"], TARGETS["nexusctl_emergency_ratio_max"], "x"),
        ("on-host emergency wall", onhost["median_wall_s"], TARGETS["onhost_emergency_s_max"], " s"),
    ]
    ok = True
    for label, value, limit, unit in checks:
        within = value <= limit
        ok = ok and within
        print("%-28s %6.2f%s  (target <= %s%s)  %s" % (label, value, unit, limit, unit, "ok" if within else "OUTSIDE"))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)
    if args.no_target:
        print("targets not judged (--no-target)")
        return 0
    print("within targets" if ok else "OUTSIDE TARGETS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
