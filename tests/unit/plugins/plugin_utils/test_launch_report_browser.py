# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The launch report in a real browser: Debian's chromium, headless, opens
the page from a file (as an operator or AWX would) and we assert what a
reader sees there, not what the HTML source holds: the DOM chromium built
(its text, scripts and styles left out) and a screenshot, kept as a test
artifact.

chromium is installed by make deps (DEB_PACKAGES); without it this test
fails saying so: the report is never left untested in a real browser."""

from __future__ import annotations

import html
import os
import re
import shutil
import struct
import subprocess

from ansible_collections.nexus_cos.launch.plugins.plugin_utils import launch_report
from ansible_collections.nexus_cos.launch.tests.unit.utils import launch_report_fixture as fixture
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import CHECKOUT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Kept after the run, in the checkout (git-ignored), also when ansible-test runs a copy of it.
ARTIFACTS = os.path.join(os.path.realpath(CHECKOUT), ".cache", "test-artifacts")
# No network, no first-run work: the page must need none.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium(tmp_path, *args):
    assert os.access(CHROMIUM, os.X_OK), (
        "%s: no chromium to open the launch report in; make deps installs Debian's chromium "
        "(apt-get install -y chromium)" % CHROMIUM)
    profile = tmp_path / "profile"
    done = subprocess.run([CHROMIUM] + FLAGS + ["--user-data-dir=%s" % profile] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=False)
    assert done.returncode == 0, "chromium %s exited %d: %s" % (args, done.returncode, done.stderr.decode()[-2000:])
    return done.stdout.decode("utf-8")


def visible_text(dom):
    """What a reader sees of the DOM chromium built: tags, styles dropped."""
    dom = re.sub(r"(?s)<(style|title)[^>]*>.*?</\1>", " ", dom)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", dom)))


def test_a_reader_sees_the_failing_check_the_refused_gate_and_the_chain(tmp_path):
    report = tmp_path / "summary-vps1.html"
    report.write_text(launch_report.render(launch_report.report_data(fixture.results())), encoding="utf-8")
    seen = visible_text(chromium(tmp_path, "--dump-dom", report.as_uri()))
    assert "REFUSED" in seen
    assert "FAIL 02 disk error" in seen and "fix: %s" % fixture.FAILING_FIX in seen
    assert "Phase 4 global launch REFUSED" in seen and fixture.REFUSAL in seen
    assert "status recorded head seq 418 %s" % fixture.HEAD in seen
    assert "sudo /var/backups/nexus-cos/20261201T100000Z/emergency.sh" in seen

    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, "launch-report.png")
    if os.path.exists(shot):
        os.unlink(shot)     # a screenshot left by an earlier run must not pass for this one
    chromium(tmp_path, "--screenshot=%s" % shot, "--window-size=1280,2000", report.as_uri())
    print("launch report screenshot: %s" % shot)
    with open(shot, "rb") as handle:
        png = handle.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % shot
    assert struct.unpack(">II", png[16:24]) == (1280, 2000)
    # A blank page compresses to a few KB; this one has tables, colour and a chart.
    assert len(png) > 40000, "%s is %d bytes: the page looks blank" % (shot, len(png))
