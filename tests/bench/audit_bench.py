# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""make bench, the audit trail at scale: ``nexusctl audit verify --dir`` on a
generated trail of N records (default 1,000,000, in files of 1,000 as runs
leave them) beside ``sha256sum`` of the same files, in the same session.
Target: verify at most 5x sha256sum (median wall times). Then one record in
the middle is edited in a copy and verify must name exactly that file and
line (this takes the full check, which is slower: timed, not a target).

The trail is generated once per N under /var/tmp and reused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log  # noqa: E402
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import utc_stamp  # noqa: E402

PER_FILE = 1000
TARGET = 5.0


def generate(directory, records):
    done = os.path.join(directory, ".complete")
    if os.path.exists(done):
        return
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    prev, seq, base = audit_log.ZERO_CHAIN, 0, 1795861800
    for index in range((records + PER_FILE - 1) // PER_FILE):
        stamp = utc_stamp(base + index * 60)
        lines = []
        for dummy in range(min(PER_FILE, records - seq)):
            seq += 1
            line, prev = audit_log.format_record(
                "PRECHECK_DISK", stamp + "-b3nch0", seq,
                {"status": "PASS", "free_gb": "76.4", "path": "/opt/nexus-cos"}, prev, base + seq)
            lines.append(line)
        with open(os.path.join(directory, "deployment-%s.log" % stamp), "w") as handle:
            handle.write("\n".join(lines) + "\n")
    open(done, "w").close()


def timed(cmd):
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return time.monotonic() - started, proc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1000000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trail-dir", help="where to generate the trail (default /var/tmp/nexus-cos-bench-trail-N)")
    parser.add_argument("--no-target", action="store_true",
                        help="report the ratio without holding it to the target (a smoke run: at a small N, "
                             "process start-up dominates)")
    args = parser.parse_args(argv)
    directory = args.trail_dir or "/var/tmp/nexus-cos-bench-trail-%d" % args.records
    started = time.monotonic()
    generate(directory, args.records)
    files = sorted(os.path.join(directory, n) for n in os.listdir(directory) if n.endswith(".log"))
    nexusctl = [os.path.join(os.path.dirname(sys.executable), "nexusctl"), "audit", "verify", "--dir", directory]
    verify, sums = [], []
    for dummy in range(args.runs):
        elapsed, proc = timed(nexusctl)
        if proc.returncode != 0 or "intact: %d records" % args.records not in proc.stdout:
            raise SystemExit("bench: audit verify did not report an intact trail:\n%s%s" % (proc.stdout, proc.stderr))
        verify.append(elapsed)
        sums.append(timed(["sha256sum"] + files)[0])
    ratio = statistics.median(verify) / statistics.median(sums)
    print("audit verify, %d records in %d files (trail ready in %.0f s)" % (args.records, len(files),
                                                                            time.monotonic() - started))
    print("  nexusctl audit verify: median %5.2f s  (%s)" % (statistics.median(verify),
                                                             ", ".join("%.2f" % t for t in verify)))
    print("  sha256sum, same files: median %5.2f s  (%s)" % (statistics.median(sums),
                                                             ", ".join("%.2f" % t for t in sums)))

    # One record edited in the middle of a copy: named exactly.
    copy = directory + "-edited"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(directory, copy)
    middle = sorted(n for n in os.listdir(copy) if n.endswith(".log"))[len(files) // 2]
    path = os.path.join(copy, middle)
    lines = open(path, "rb").read().split(b"\n")
    lines[499] = lines[499].replace(b"free_gb=76.4", b"free_gb=99.9")
    with open(path, "wb") as handle:
        handle.write(b"\n".join(lines))
    elapsed, proc = timed(nexusctl[:-1] + [copy])
    shutil.rmtree(copy, ignore_errors=True)
    expected = "file %s line 500: record edited" % middle
    named = proc.returncode == 1 and expected in proc.stdout + proc.stderr
    print("  an edited record in the middle: %s in %.1f s (full check)" % (
        "named exactly (%s)" % expected if named else "NOT NAMED: %s" % (proc.stdout + proc.stderr)[-500:], elapsed))
    ok = (ratio <= TARGET or args.no_target) and named
    print("audit verify / sha256sum   %6.2fx  (target <= %.1fx)  %s" % (ratio, TARGET, "ok" if ratio <= TARGET
                                                                        else "OUTSIDE"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
