# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""`nexusctl validate`: output and exit codes (0 valid, 1 invalid, 2 usage)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import cmd_validate
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths

FIXTURES = Path(repo_paths.CONFIG_FIXTURES)
SHARED = Path(repo_paths.PLATFORM_FIXTURES)


def nexusctl(*argv):
    """A stand-in for the real entry point: parse, dispatch, return the code."""
    parser = argparse.ArgumentParser(prog="nexusctl")
    commands = parser.add_subparsers(dest="command", required=True)
    cmd_validate.register(commands)
    args = parser.parse_args(list(argv))
    return args.func(args)


@pytest.fixture
def repo(tmp_path):
    target = tmp_path / "repo"
    shutil.copytree(FIXTURES / "valid", target)
    return target


def test_valid_checkout_exits_0(repo, capsys):
    assert nexusctl("validate", "--repo-dir", str(repo)) == 0
    out = capsys.readouterr().out
    assert out.strip() == ("configuration valid: 0 errors, 0 warnings in 5 files (%s, access "
                           "mode founder_beta)" % repo)


@pytest.mark.skipif(not (SHARED / "pfs").is_dir(), reason="shared platform fixtures absent")
def test_real_platform_files_exit_0(capsys):
    assert nexusctl("validate", "--repo-dir", str(SHARED)) == 0
    assert "configuration valid" in capsys.readouterr().out


def test_broken_checkout_exits_1_and_lists_findings(capsys):
    broken = FIXTURES / "broken"
    assert nexusctl("validate", "--repo-dir", str(broken)) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("configuration INVALID: 21 errors, 2 warnings in 5 files")
    assert ("ERROR   pfs/global-launch.yaml: launch_gates.required_validations[2].status: "
            'found string "done"; expected one of "pending", "passed", "failed", "waived"') in lines
    assert any(line.startswith("WARNING pfs/founder-public-transition.yaml: ") for line in lines)
    first_warning = next(i for i, line in enumerate(lines) if line.startswith("WARNING"))
    assert all(line.startswith("ERROR") for line in lines[:first_warning])


def test_warnings_alone_exit_0(repo, capsys):
    path = repo / "pfs" / "global-launch.yaml"
    path.write_text(path.read_text().replace("public_signup: false", "public_signup: true"))
    assert nexusctl("validate", "--repo-dir", str(repo)) == 0
    out = capsys.readouterr().out
    assert "WARNING pfs/global-launch.yaml: feature_flags.public_signup:" in out
    assert "configuration valid: 0 errors, 1 warning in 5 files" in out


def test_json_format(repo, capsys):
    (repo / "config" / "feature-flags.json").write_text("[]")
    assert nexusctl("validate", "--repo-dir", str(repo), "--format", "json") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["repo_dir"] == str(repo)
    assert data["errors"] == [{
        "file": "config/feature-flags.json", "path": "", "line": None,
        "message": "top level is a list; expected a JSON object",
        "text": "config/feature-flags.json: top level is a list; expected a JSON object"}]


def test_json_format_valid(repo, capsys):
    assert nexusctl("validate", "--repo-dir", str(repo), "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["facts"]["access_mode"] == "founder_beta"


def test_explicit_pf_dir_and_flag_store(repo, tmp_path, capsys):
    moved = tmp_path / "moved"
    shutil.move(str(repo / "pfs"), str(moved))
    shutil.move(str(repo / "config" / "feature-flags.json"), str(tmp_path / "flags.json"))
    assert nexusctl("validate", "--repo-dir", str(repo), "--pf-dir", str(moved),
                    "--flag-store", str(tmp_path / "flags.json")) == 0
    assert nexusctl("validate", "--repo-dir", str(repo)) == 1  # defaults now point at nothing
    assert "pfs: PF directory not found" in capsys.readouterr().out


@pytest.mark.parametrize("extra,message", [
    ((), "--repo-dir {missing}: not a directory"),
    (("--pf-dir", "{missing}"), "--pf-dir {missing}: not a directory"),
    (("--flag-store", "{missing}"), "--flag-store {missing}: no such file"),
])
def test_usage_errors_exit_2(repo, tmp_path, capsys, extra, message):
    missing = str(tmp_path / "missing")
    repo_dir = missing if not extra else str(repo)
    argv = ["validate", "--repo-dir", repo_dir] + [a.format(missing=missing) for a in extra]
    assert nexusctl(*argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "nexusctl validate: " + message.format(missing=missing) in captured.err


def test_repo_dir_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    not_dir = tmp_path / "file"
    not_dir.write_text("x")
    assert nexusctl("validate", "--repo-dir", str(not_dir)) == 2


def test_bad_format_is_an_argparse_error(repo, capsys):
    with pytest.raises(SystemExit) as caught:
        nexusctl("validate", "--repo-dir", str(repo), "--format", "xml")
    assert caught.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_default_repo_dir_is_the_platform_path():
    parser = argparse.ArgumentParser(prog="nexusctl")
    cmd_validate.register(parser.add_subparsers())
    args = parser.parse_args(["validate"])
    assert (args.repo_dir, args.pf_dir, args.flag_store, args.format) == (
        "/opt/nexus-cos", None, None, "text")
