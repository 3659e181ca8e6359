# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""After tests/compat/run's phase4 play: the run's precheck report (the
controller's copy under ARTIFACTS) passed every check, and the disk check
compared free space with the threshold tests/compat/inventory.yml sets as a
template (3.0 GiB): a number, whatever the ansible-core.

usage: check_play.py ARTIFACTS"""

from __future__ import annotations

import glob
import json
import os
import sys

EXPECTED_DISK = "3.0 GiB"


def problems(report):
    """[str]: what is wrong in one precheck report (empty when right)."""
    out = []
    summary = report.get("summary") or {}
    if not summary.get("ok") or summary.get("failed"):
        out.append("the prechecks did not pass: %s" % json.dumps(summary, sort_keys=True))
    disk = [r for r in report.get("results") or [] if r.get("name") == "disk"]
    if not disk:
        out.append("no disk check in the report")
    elif (disk[0].get("details") or {}).get("required_free") != EXPECTED_DISK or disk[0].get("status") != "PASS":
        found = (disk[0].get("status"), (disk[0].get("details") or {}).get("required_free"), disk[0].get("msg"))
        out.append("disk check: expected status PASS with required_free %r (precheck_disk_min_free_gb as a float), "
                   "found %s %r: %s" % ((EXPECTED_DISK,) + found))
    return out


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__.split("usage: ")[1] + "\n")
        return 2
    reports = sorted(glob.glob(os.path.join(argv[1], "*", "precheck-*.json")))
    if len(reports) != 1:
        print("check_play: expected one precheck report under %s/RUN_ID/, found %d" % (argv[1], len(reports)))
        return 1
    with open(reports[0]) as handle:
        found = problems(json.load(handle))
    for line in found:
        print("check_play: %s: %s" % (reports[0], line))
    if not found:
        print("check_play: every precheck passed; disk threshold %s" % EXPECTED_DISK)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
