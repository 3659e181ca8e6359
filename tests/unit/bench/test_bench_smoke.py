# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""make bench cannot rot: its scripts that need no sandbox run here at a tiny
size, so a renamed helper breaks make test, not the next benchmark."""

from __future__ import annotations

import os
import subprocess
import sys

from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT


def test_audit_bench_runs_at_a_thousand_records(tmp_path):
    trail = tmp_path / "trail"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "bench", "audit_bench.py"), "--records", "1000",
                           "--runs", "1", "--trail-dir", str(trail), "--no-target"],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "audit verify, 1000 records in 1 files" in proc.stdout
    assert "named exactly (file deployment-" in proc.stdout
