# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The launch report (plugin_utils/launch_report.py): the data picked from a
run's results and the page made of it."""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.nexus_cos.launch.plugins.plugin_utils import launch_report
from ansible_collections.nexus_cos.launch.tests.unit.utils import launch_report_fixture as fixture


def page(**changes):
    kwargs = fixture.results()
    kwargs.update(changes)
    data = launch_report.report_data(kwargs)
    return data, launch_report.render(data)


def test_the_page_is_self_contained():
    dummy, text = page()
    assert text.startswith("<!DOCTYPE html>")
    # No script, no asset fetched from anywhere: it works from a file and in AWX artifacts.
    assert "<script" not in text and not re.search(r'(src|href)\s*=', text) and "@import" not in text
    assert "url(" not in text and "<svg" in text


def test_a_refused_launch_says_so_at_the_top_with_its_reason():
    dummy, text = page()
    banner = re.search(r'<div class="banner (\w+)" id="outcome">(.*?)</div>', text).groups()
    assert banner[0] == "bad" and banner[1].startswith("REFUSED<small>launch gate security_audit is pending")


@pytest.mark.parametrize("changes, headline", [
    ({"gate": fixture.results(refused=False)["gate"], "failures": None}, "LAUNCHED"),
    ({"gate": None, "failures": None}, "SUCCEEDED"),
    ({"gate": None, "failures": None, "rollback": {"ms": 2300, "problem": "the gateway served founder"}}, "ROLLED BACK"),
    ({"gate": None, "failures": None, "guard": dict(fixture.results()["guard"], outcome="switch_pulled")},
     "EMERGENCY SWITCH PULLED"),
])
def test_the_headline_names_how_the_run_ended(changes, headline):
    kwargs = fixture.results()
    kwargs["run"]["status"] = "success"
    kwargs.update(changes)
    text = launch_report.render(launch_report.report_data(kwargs))
    assert '" id="outcome">%s<small>' % headline in text


def test_every_failing_check_shows_its_fix_and_how_to_skip_it():
    dummy, text = page()
    assert "fix: %s" % fixture.FAILING_FIX in text
    assert "skip it: <code>--skip disk</code>" in text
    assert "<h2>Prechecks: 1 passed, 1 failed, 1 warned, 0 skipped</h2>" in text


def test_values_are_escaped():
    dummy, text = page()
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_approvals_waivers_history_chain_and_commands_are_shown():
    data, text = page()
    assert "alice (founder), bob (technical_lead)" in text
    assert "load_test: run on staging 2026-11-30, ticket OPS-7" in text
    assert [e["key"] for e in data["history"]] == ["marketplace_step_1", "marketplace_step_2", "marketplace_step_2"]
    assert "undone by rollback run 20261126T130000Z-cccccc" in text
    assert "seq 418 %s" % fixture.HEAD in text
    assert "<pre>sudo /var/backups/nexus-cos/20261201T100000Z/rollback.sh</pre>" in text
    assert "<pre>sudo /var/backups/nexus-cos/20261201T100000Z/emergency.sh</pre>" in text


def test_the_guard_chart_draws_every_sample():
    data, text = page()
    assert len(data["guard"]["samples"]) == 40
    svg = text[text.index("<svg"):text.index("</svg>")]
    assert svg.count('fill="#dc2626"') == 3        # the three looks it was down
    # Latency of the looks up, broken where the platform was down.
    assert [len(p.split()) for p in re.findall(r'<polyline [^>]*points="([^"]*)"', svg)] == [20, 17]


def test_the_report_never_holds_a_secret():
    """Approval secrets, the nonce, password hashes and a channel token in
    the results given: neither the stored data nor the page holds one."""
    data, text = page()
    stored = json.dumps(data)
    for secret in fixture.SECRETS:
        assert secret not in stored and secret not in text, secret


def test_a_later_part_of_the_run_is_laid_over_the_stored_data():
    data, dummy = page(guard=None)
    later = launch_report.report_data({"guard": fixture.results()["guard"],
                                       "timeline": [{"at": 1796119500, "event": "GUARD_END", "detail": "clean"}]})
    merged = launch_report.merge(json.loads(json.dumps(data)), later)
    assert merged["guard"]["outcome"] == "clean" and merged["prechecks"] == data["prechecks"]
    assert [t["event"] for t in merged["timeline"]][-2:] == ["LAUNCH_REFUSED", "GUARD_END"]


def test_an_empty_run_still_renders():
    text = launch_report.render(launch_report.report_data({"run": {"id": "r1", "playbook": "guard"}}))
    assert "SUCCEEDED" in text and "nexusctl rollback --emergency --reason TEXT" in text
