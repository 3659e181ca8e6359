# -*- coding: utf-8 -*-
"""``enabled: off`` means one thing everywhere. The platform reads YAML 1.2,
where ``off`` is the string "off"; YAML 1.1 readers take it for false. The
validator, the gates and the PF editor once disagreed (the editor read
false, so ``pf_setting enabled=false`` believed the value already held while
the validator and the gates read "off"). They share one reader now: these
tests read one file through each of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import nexus_config
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import facts as activation_facts
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import plan as activation_plan
from ansible_collections.nexus_cos.launch.plugins.module_utils import pf_document
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import change
from ansible_collections.nexus_cos.launch.plugins.modules import pf_setting

from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import module_succeeded
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths

pytestmark = pytest.mark.usefixtures("module_exits")

FIXTURES = Path(repo_paths.CONFIG_FIXTURES)
PF = "marketplace-phase3.yaml"
STORE = "config/feature-flags.json"
KEY = "marketplace.enabled"


@pytest.fixture
def repo(tmp_path):
    """The valid checkout with the marketplace switch written ``enabled: off``."""
    target = tmp_path / "repo"
    shutil.copytree(FIXTURES / "valid", target)
    path = target / "pfs" / PF
    text = path.read_text()
    assert text.count("\n  enabled: false\n") == 1
    path.write_text(text.replace("\n  enabled: false\n", "\n  enabled: off\n"))
    return target


def line_of(path, text):
    return path.read_text().splitlines().index(text) + 1


def test_the_validator_reads_off_as_a_string_and_says_how_to_fix_it(repo):
    report = nexus_config.validate_repo(str(repo))
    line = line_of(repo / "pfs" / PF, "  enabled: off")
    assert [str(f) for f in report.errors] == [
        'pfs/%s:%d: %s: found off, a YAML 1.1 boolean word: the platform reads YAML 1.2, where it is the '
        'string "off"; expected a boolean: write true or false' % (PF, line, KEY)]


def test_the_gate_reads_off_as_a_string(repo):
    pfs = activation_facts.read_pfs(str(repo / "pfs"))
    assert pfs[PF]["error"] is None
    assert activation_plan.get_key(pfs[PF]["document"], KEY) == "off"
    store = activation_plan.load_store(activation_facts.read_flag_store(str(repo / STORE))["document"])
    documents = {name: item["document"] for name, item in pfs.items()}
    # The kill switch sets marketplace.enabled to false: "off" is not false yet.
    assert '%s: %s is "off", expected false' % (PF, KEY) in activation_plan.differences(
        activation_plan.emergency_plan(), store, documents)
    prepared = change.prepare(str(repo / STORE), str(repo / "pfs"),
                              change.Request(pf_settings=[{"file": PF, "settings": {KEY: False}}]))
    assert prepared.pf_changes == [{"file": PF, "key": KEY, "before": "off", "after": False}]


def test_the_editor_reads_off_as_a_string(repo):
    assert pf_document.load(str(repo / "pfs" / PF)).get(KEY) == "off"


def test_pf_setting_false_changes_off_to_false_with_a_diff(repo):
    path = repo / "pfs" / PF
    before = path.read_text()
    args = {"path": str(path), "settings": {KEY: False}, "_ansible_diff": True}
    result = module_succeeded(pf_setting.main, args)
    assert result["changed"] is True
    assert result["changes"] == [{"key": KEY, "before": "off", "after": False}]
    assert result["diff"]["before"] == before
    assert result["diff"]["after"] == before.replace("\n  enabled: off\n", "\n  enabled: false\n")
    assert path.read_text() == result["diff"]["after"]
    # Now every reader agrees it is false, and the run is a no-op.
    assert nexus_config.validate_repo(str(repo)).ok
    assert module_succeeded(pf_setting.main, args)["changed"] is False
