# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Processes for lock tests: a pid that is gone, and one that is running
the command line a lock names."""

from __future__ import annotations

import subprocess
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils import deploy_lock


def dead_pid():
    """A pid that ran a moment ago and is not running now."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def started(argv):
    """A running process, once it has exec'd ``argv`` (until then its
    command line is still the parent's)."""
    proc = subprocess.Popen(argv)
    deadline = time.monotonic() + 10
    while deploy_lock.process_command(proc.pid) != " ".join(argv) and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc
