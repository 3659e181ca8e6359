# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl report: a run's launch report written again from its stored
data, the newest run by default."""

from __future__ import annotations

import json

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import launch_report
from ansible_collections.nexus_cos.launch.tests.unit.utils import launch_report_fixture as fixture


def store(directory, run, host="vps1", **changes):
    kwargs = fixture.results()
    kwargs.update(changes)
    kwargs["run"] = dict(kwargs["run"], id=run)
    run_dir = directory / run
    run_dir.mkdir(parents=True)
    (run_dir / ("summary-%s.json" % host)).write_text(json.dumps(launch_report.report_data(kwargs)))
    (run_dir / ("summary-%s.txt" % host)).write_text("the text summary\n")
    return run_dir


def test_the_newest_run_by_default(tmp_path, capsys):
    store(tmp_path, "20261130T090000Z-aaaaaa")
    newest = store(tmp_path, "20261201T100000Z-abc123")
    (tmp_path / "audit-heads").mkdir()      # not a run
    assert nexusctl.main(["report", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "%s\n" % (newest / "summary-vps1.html")
    page = (newest / "summary-vps1.html").read_text()
    assert "20261201T100000Z-abc123" in page and "REFUSED" in page
    assert not (tmp_path / "20261130T090000Z-aaaaaa" / "summary-vps1.html").exists()


def test_a_named_run_every_host(tmp_path, capsys):
    run_dir = store(tmp_path, "20261130T090000Z-aaaaaa")
    store(tmp_path, "20261201T100000Z-abc123")
    (run_dir / "summary-vps2.json").write_text(json.dumps(launch_report.report_data({"run": {"id": "r", "host": "vps2"}})))
    assert nexusctl.main(["report", "20261130T090000Z-aaaaaa", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == [str(run_dir / "summary-vps1.html"), str(run_dir / "summary-vps2.html")]


def test_what_is_missing_is_named(tmp_path, capsys):
    assert nexusctl.main(["report", "--dir", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == ("nexusctl report: --dir %s: no such directory; expected the artifacts directory "
                                       "of the runs\n" % (tmp_path / "nope"))
    assert nexusctl.main(["report", "--dir", str(tmp_path)]) == 2
    assert "no run in %s has report data (summary-*.json)" % tmp_path in capsys.readouterr().err
    store(tmp_path, "20261201T100000Z-abc123")
    assert nexusctl.main(["report", "20261201T100000Z-zzzzzz", "--dir", str(tmp_path)]) == 2
    assert ("run 20261201T100000Z-zzzzzz: no report data (summary-*.json) in %s/20261201T100000Z-zzzzzz"
            % tmp_path) in capsys.readouterr().err


def test_data_that_is_not_a_report_is_named(tmp_path, capsys):
    run_dir = tmp_path / "20261201T100000Z-abc123"
    run_dir.mkdir()
    (run_dir / "summary-vps1.json").write_text('{"run": {}}')
    assert nexusctl.main(["report", "--dir", str(tmp_path)]) == 4
    assert capsys.readouterr().err == ("nexusctl report: %s/summary-vps1.json: not launch report data of version 1; "
                                       "expected the JSON object a run stores beside its summary\n" % run_dir)
