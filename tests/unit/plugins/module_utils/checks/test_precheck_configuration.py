"""Precheck 7 wraps nexus_config.validate_repo (tested in depth in
test_nexus_config.py): pass on a valid tree, fail naming file and key."""

from __future__ import annotations

import os
import shutil

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import run_checks
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths

FIXTURES = repo_paths.CONFIG_FIXTURES


def run(repo):
    params = {"repo_dir": repo, "pf_dir": os.path.join(repo, "pfs"),
              "flag_store": os.path.join(repo, "config", "feature-flags.json")}
    return run_checks({"configuration": {"severity": "error", "params": params}}, host=None)[0]


def test_valid_tree_passes(tmp_path):
    repo = str(tmp_path / "repo")
    shutil.copytree(os.path.join(FIXTURES, "valid"), repo)
    result = run(repo)
    assert result["status"] == "PASS", result
    assert result["msg"].startswith("5 files valid")


def test_cycle_fails_naming_the_flags(tmp_path):
    repo = str(tmp_path / "repo")
    shutil.copytree(os.path.join(FIXTURES, "valid"), repo)
    path = os.path.join(repo, "config", "feature-flags.json")
    text = open(path).read()
    import json
    store = json.loads(text)
    store["feature_flags"]["MARKETPLACE_PHASE2_ENABLED"]["requires"] = ["MARKETPLACE_PHASE3_ENABLED"]
    open(path, "w").write(json.dumps(store, indent=2))
    result = run(repo)
    assert result["status"] == "FAIL"
    assert "cycle" in result["msg"]
    assert "MARKETPLACE_PHASE2_ENABLED" in result["msg"]


def test_malformed_pf_fails_naming_the_file(tmp_path):
    repo = str(tmp_path / "repo")
    shutil.copytree(os.path.join(FIXTURES, "valid"), repo)
    with open(os.path.join(repo, "pfs", "global-launch.yaml"), "w") as handle:
        handle.write("launch_gates: [unclosed\n")
    result = run(repo)
    assert result["status"] == "FAIL"
    assert "pfs/global-launch.yaml" in result["msg"]
