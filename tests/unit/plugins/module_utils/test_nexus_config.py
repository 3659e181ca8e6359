# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 7: schemas, flag semantics, cross-file rules, and what it makes of a
file the reader refuses or of a YAML 1.1 boolean word."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.nexus_cos.launch.plugins.module_utils import documents
from ansible_collections.nexus_cos.launch.plugins.module_utils import nexus_config as nc
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths

FIXTURES = Path(repo_paths.CONFIG_FIXTURES)
SHARED = Path(repo_paths.PLATFORM_FIXTURES)
STORE = "config/feature-flags.json"


@pytest.fixture
def repo(tmp_path):
    """A writable copy of the project's own valid checkout."""
    target = tmp_path / "repo"
    shutil.copytree(FIXTURES / "valid", target)
    return target


def edit_yaml(repo, name, change):
    path = repo / "pfs" / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def edit_flags(repo, change):
    path = repo / STORE
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def flag(enabled=False, requires=()):
    return {"enabled": enabled, "description": "test flag", "type": "boolean",
            "default": False, "category": "test", "requires": list(requires)}


def texts(findings):
    return [str(f) for f in findings]


def only_error(report):
    assert len(report.errors) == 1, texts(report.errors)
    return report.errors[0]


# --------------------------------------------------------------------------
# Whole trees
# --------------------------------------------------------------------------


@pytest.mark.skipif(not (SHARED / "pfs").is_dir(), reason="shared platform fixtures absent")
def test_real_platform_files_pass():
    report = nc.validate_repo(str(SHARED))
    assert report.ok, texts(report.errors)
    assert report.warnings == []
    assert report.facts["access_mode"] == "founder_beta"
    assert "pfs/global-launch.yaml" in report.files


def test_own_valid_fixture_passes(repo):
    report = nc.validate_repo(str(repo))
    assert report.ok and report.warnings == [] and report.infos == [], texts(
        report.errors + report.warnings + report.infos)
    assert sorted(report.files) == sorted(
        ["pfs/%s" % n for n in nc.PF_SCHEMAS] + [STORE])
    assert report.facts["effective_flags"]["FOUNDER_BETA_MODE"] is True


BROKEN_EXPECTED = [
    ("pfs/marketplace-phase3.yaml", "pf_id", 'found string "PF-MARKETPLACE"'),
    ("pfs/marketplace-phase3.yaml", "marketplace.trading_features.peer_to_peer.enabled",
     'found string "off"; expected a boolean'),
    ("pfs/marketplace-phase3.yaml", "marketplace.progressive_access.public.daily_transaction_limit",
     "found integer 0; expected an integer >= 1"),
    ("pfs/marketplace-phase3.yaml", "ignition_sequence.step_3",
     "missing; expected a mapping with keys enable, audience"),
    ("pfs/global-launch.yaml", "version", "found number 2.1"),
    ("pfs/global-launch.yaml", "launch_gates.required_validations[2].status",
     'found string "done"; expected one of'),
    ("pfs/global-launch.yaml", "launch_gates.required_validations[2].name", "listed twice"),
    ("pfs/global-launch.yaml", "feature_flags.public_signup", "missing; expected a boolean"),
    ("pfs/global-launch.yaml", "deployment.team_approval", "found an empty string"),
    ("pfs/founder-public-transition.yaml", "transition_phases.public_full.active", "missing"),
    ("pfs/jurisdiction-engine.yaml", "jurisdiction_engine.regions.EU.enabled", 'found string "yes"'),
    ("pfs/jurisdiction-engine.yaml", "jurisdiction_engine.regions.EU.features.marketplace",
     "found integer 1"),
    (STORE, "updated", 'found string "yesterday"'),
    (STORE, "feature_flags.creator-tools", "does not match"),
    (STORE, "feature_flags.creator-tools.requires", "missing; expected a list"),
    (STORE, "feature_flags.FOUNDER_BETA_MODE.default", "expected a boolean for a flag of type boolean"),
    (STORE, "feature_flags.PUBLIC_FULL_LAUNCH_MODE.requires[0]",
     'names unknown flag "PUBLIC_SOFT_LAUNCH_MODE"'),
    (STORE, "feature_flags.PUBLIC_FULL_LAUNCH_MODE.enabled", "is not effectively on"),
    (STORE, "feature_flags.JURISDICTION_ENGINE_ENABLED.requires[0]", "REGION_DB_READY"),
    (STORE, "feature_flags.PUBLIC_SOFT_LAUNCH_MODE", "missing; expected flag"),
    (STORE, "feature_flags.MARKETPLACE_PHASE2_ENABLED.requires",
     "dependency cycle MARKETPLACE_PHASE2_ENABLED -> MARKETPLACE_PHASE3_ENABLED -> "
     "MARKETPLACE_PHASE2_ENABLED"),
]


@pytest.fixture(scope="module")
def broken_report():
    return nc.validate_repo(str(FIXTURES / "broken"))


@pytest.mark.parametrize("file,path,fragment", BROKEN_EXPECTED)
def test_broken_fixture_names_file_and_key_path(broken_report, file, path, fragment):
    prefix = "%s: %s: " % (file, path)
    matches = [t for t in texts(broken_report.errors) if t.startswith(prefix)]
    assert any(fragment in t for t in matches), (prefix, texts(broken_report.errors))


def test_broken_fixture_has_nothing_unexpected(broken_report):
    assert not broken_report.ok
    assert len(broken_report.errors) == len(BROKEN_EXPECTED), texts(broken_report.errors)
    assert sorted(texts(broken_report.warnings)) == [
        "pfs/founder-public-transition.yaml: transition_phases: 2 phases active "
        "(founder, public_soft); expected exactly one",
        "pfs/marketplace-phase3.yaml: marketplace.progressive_access.founders.enabled: is true "
        "while marketplace.enabled is false; expected the marketplace on first",
    ]


# --------------------------------------------------------------------------
# PF schemas, one mutation at a time
# --------------------------------------------------------------------------


def _set(dotted, value):
    def change(data):
        *parents, last = dotted.split(".")
        for part in parents:
            data = data[int(part)] if isinstance(data, list) else data[part]
        if value is KeyError:
            del data[last]
        elif isinstance(data, list):
            data[int(last)] = value
        else:
            data[last] = value
    return change


PF_MUTATIONS = [
    ("marketplace-phase3.yaml", "pf_id", "PF-GLOBAL-LAUNCH",
     'expected a string equal to "PF-MARKETPLACE-PHASE3"'),
    ("marketplace-phase3.yaml", "version", "1.0", 'expected a version string like "1.0.0"'),
    ("marketplace-phase3.yaml", "status", KeyError, "missing; expected a string"),
    ("marketplace-phase3.yaml", "phase", 2, "found integer 2; expected an integer equal to 3"),
    ("marketplace-phase3.yaml", "requires_phase", "2", 'found string "2"; expected an integer'),
    ("marketplace-phase3.yaml", "requires_phase", 3, "expected an integer equal to 2"),
    ("marketplace-phase3.yaml", "marketplace.phase", None, "found null"),
    ("marketplace-phase3.yaml", "marketplace.enabled", "true", 'found string "true"'),
    ("marketplace-phase3.yaml", "marketplace.trading", KeyError, "missing"),
    ("marketplace-phase3.yaml", "marketplace.trading_features.auction_system", KeyError,
     "missing; expected a mapping with keys enabled"),
    ("marketplace-phase3.yaml", "marketplace.trading_features.fixed_price_listings.enabled", 1,
     "found integer 1; expected a boolean"),
    ("marketplace-phase3.yaml", "marketplace.progressive_access.creators.daily_transaction_limit",
     -5, "found integer -5; expected an integer >= 1"),
    ("marketplace-phase3.yaml", "marketplace.progressive_access.founders.daily_transaction_limit",
     True, "found boolean true; expected an integer"),
    ("marketplace-phase3.yaml", "marketplace.progressive_access.public", [], "found a list"),
    ("marketplace-phase3.yaml", "ignition_sequence.step_4.audience", KeyError, "missing"),
    ("marketplace-phase3.yaml", "ignition_sequence.step_2.enable", "", "found an empty string"),
    ("global-launch.yaml", "pf_id", KeyError, "missing"),
    ("global-launch.yaml", "global_launch", "armed", "expected a mapping"),
    ("global-launch.yaml", "launch_gates.required_validations.1.status", "done",
     'found string "done"; expected one of "pending", "passed", "failed", "waived"'),
    ("global-launch.yaml", "launch_gates.required_validations.0", "infrastructure",
     "found string"),
    ("global-launch.yaml", "launch_gates.required_validations.2.name", KeyError, "missing"),
    ("global-launch.yaml", "launch_gates.required_validations", [],
     "found an empty list; expected a non-empty list"),
    ("global-launch.yaml", "feature_flags.soft_launch_mode", "no", 'found string "no"'),
    ("global-launch.yaml", "visibility_control.seo_enabled", KeyError, "missing"),
    ("global-launch.yaml", "deployment.team_approval", KeyError, "missing; expected a string"),
    ("founder-public-transition.yaml", "transition_phases.public_soft.active", KeyError,
     "missing; expected a boolean"),
    ("founder-public-transition.yaml", "feature_flags.transition_control", ["founder"],
     "found a list; expected a mapping with keys founder_mode"),
    ("jurisdiction-engine.yaml", "jurisdiction_engine.regions", {},
     "found an empty mapping"),
    ("jurisdiction-engine.yaml", "jurisdiction_engine.regions.CA.enabled", KeyError, "missing"),
    ("jurisdiction-engine.yaml", "jurisdiction_engine.regions.CA.features.skill_games", "yes",
     'found string "yes"; expected a boolean'),
    ("jurisdiction-engine.yaml", "jurisdiction_engine.regions.GLOBAL.features", None,
     "found null; expected a mapping"),
]


@pytest.mark.parametrize("name,dotted,value,fragment", PF_MUTATIONS,
                         ids=["%s:%s" % (m[0].split(".")[0], m[1]) for m in PF_MUTATIONS])
def test_pf_schema_error_names_file_and_key_path(repo, name, dotted, value, fragment):
    edit_yaml(repo, name, _set(dotted, value))
    report = nc.validate_repo(str(repo))
    shown = dotted
    for part in dotted.split("."):
        if part.isdigit():
            shown = shown.replace(".%s" % part, "[%s]" % part)
    error = only_error(report)
    assert (error.file, error.path) == ("pfs/" + name, shown)
    assert str(error).startswith("pfs/%s: %s: " % (name, shown))
    assert fragment in error.message and "; expected" in error.message


def test_unknown_extra_keys_are_allowed(repo):
    edit_yaml(repo, "global-launch.yaml", _set("rollout_notes", {"anything": [1, 2]}))
    edit_yaml(repo, "marketplace-phase3.yaml", _set("marketplace.currency", {"type": "nexcoin"}))
    assert nc.validate_repo(str(repo)).ok


def test_missing_pf_file_is_an_error(repo):
    (repo / "pfs" / "jurisdiction-engine.yaml").unlink()
    error = only_error(nc.validate_repo(str(repo)))
    assert str(error) == "pfs/jurisdiction-engine.yaml: file not found; expected it to exist"


def test_missing_pf_dir_and_flag_store(tmp_path):
    report = nc.validate_repo(str(tmp_path))
    assert texts(report.errors) == [
        "pfs: PF directory not found; expected a directory holding founder-public-transition.yaml, "
        "global-launch.yaml, jurisdiction-engine.yaml, marketplace-phase3.yaml",
        "config/feature-flags.json: file not found; expected it to exist",
    ]


def test_pf_dir_and_flag_store_elsewhere_shown_absolute(repo, tmp_path):
    other = tmp_path / "elsewhere"
    shutil.move(str(repo / "pfs"), str(other / "pfs"))
    shutil.move(str(repo / STORE), str(other / "flags.json"))
    edit_yaml(other, "global-launch.yaml", _set("pf_id", "x"))
    report = nc.validate_repo(str(repo), pf_dir=str(other / "pfs"),
                              flag_store=str(other / "flags.json"))
    assert only_error(report).file == str(other / "pfs" / "global-launch.yaml")
    assert str(other / "flags.json") in report.files


def test_pf_file_that_is_a_directory(repo):
    path = repo / "pfs" / "global-launch.yaml"
    path.unlink()
    path.mkdir()
    assert "is not a regular file" in only_error(nc.validate_repo(str(repo))).message


# --------------------------------------------------------------------------
# Extra PF files
# --------------------------------------------------------------------------


def test_unknown_extra_pf_file_passes_as_info(repo):
    (repo / "pfs" / "loyalty-program.yaml").write_text("---\nname: loyalty\nlevels: [1, 2]\n")
    (repo / "pfs" / "README.md").write_text("# not yaml: ignored\n")
    report = nc.validate_repo(str(repo))
    assert report.ok and report.warnings == []
    assert texts(report.infos) == [
        "pfs/loyalty-program.yaml: not a PF file the launch reads; parsed, not schema-checked"]


def test_unparsable_extra_pf_file_is_a_warning_only(repo):
    (repo / "pfs" / "notes.yml").write_text("a: 1\na: 2\n")
    report = nc.validate_repo(str(repo))
    assert report.ok
    assert texts(report.warnings) == [
        "pfs/notes.yml:2: duplicate key 'a' (first at line 1); expected each key once per "
        "mapping (an extra PF file, not one the launch reads)"]


def test_misnamed_pf_file_gets_a_hint(repo):
    (repo / "pfs" / "global-launch.yaml").rename(repo / "pfs" / "global-launch.yml")
    report = nc.validate_repo(str(repo))
    assert texts(report.errors) == ["pfs/global-launch.yaml: file not found; expected it to exist"]
    assert "did you mean global-launch.yaml?" in report.infos[0].message


def test_hostile_file_name_cannot_forge_an_output_line(repo):
    (repo / "pfs" / "x\nERROR fake.yaml").write_text("a: 1\n")
    (repo / "pfs" / "y\nERROR fake.yaml").write_text("a: 1\n")
    report = nc.validate_repo(str(repo))
    assert report.ok
    assert all("\n" not in line for line in report.render())


# --------------------------------------------------------------------------
# Files documents refuses, as validation findings (the refusals themselves:
# test_documents.py)
# --------------------------------------------------------------------------


def test_duplicate_key_in_a_real_pf_file_fails_validation(repo):
    path = repo / "pfs" / "marketplace-phase3.yaml"
    path.write_text(path.read_text() + "phase: 3\n")
    error = only_error(nc.validate_repo(str(repo)))
    assert str(error).startswith("pfs/marketplace-phase3.yaml:%d: duplicate key 'phase'"
                                 % len(path.read_text().splitlines()))


def test_top_level_list_in_pf_file_fails_validation(repo):
    (repo / "pfs" / "global-launch.yaml").write_text("---\n- pf_id: PF-GLOBAL-LAUNCH\n")
    assert str(only_error(nc.validate_repo(str(repo)))) == (
        "pfs/global-launch.yaml: top level is a list; expected a mapping")


def test_yes_for_enabled_is_a_schema_error(repo):
    path = repo / "pfs" / "marketplace-phase3.yaml"
    path.write_text(path.read_text().replace("  trading: false", "  trading: no"))
    line = path.read_text().splitlines().index("  trading: no") + 1
    assert str(only_error(nc.validate_repo(str(repo)))) == (
        'pfs/marketplace-phase3.yaml:%d: marketplace.trading: found no, a YAML 1.1 boolean word: the platform '
        'reads YAML 1.2, where it is the string "no"; expected a boolean: write true or false' % line)


# YAML 1.1 boolean words: the platform reads them as strings, YAML 1.1
# readers as booleans. Where the schema wants a boolean: an error; elsewhere
# a warning that names the fix both ways.

@pytest.mark.parametrize("word", ["off", "OFF", "Off", "on", "yes", "No", "y", "N"])
def test_every_yaml_1_1_boolean_word_where_a_boolean_is_wanted_is_an_error(repo, word):
    path = repo / "pfs" / "global-launch.yaml"
    path.write_text(path.read_text().replace("  seo_enabled: false", "  seo_enabled: %s" % word))
    error = only_error(nc.validate_repo(str(repo)))
    assert (error.path, error.line) == ("visibility_control.seo_enabled",
                                        path.read_text().splitlines().index("  seo_enabled: %s" % word) + 1)
    assert error.message.startswith("found %s, a YAML 1.1 boolean word" % word)
    assert error.message.endswith("write true or false")


def test_yaml_1_1_boolean_word_where_a_string_is_wanted_is_a_warning(repo):
    path = repo / "pfs" / "marketplace-phase3.yaml"
    path.write_text(path.read_text().replace('status: "gated"', "status: on", 1))
    report = nc.validate_repo(str(repo))
    assert report.ok, texts(report.errors)
    found = [f for f in report.warnings if f.path == "status"]
    assert len(found) == 1 and found[0].line == 5
    assert found[0].message == (
        'found on, a YAML 1.1 boolean word: YAML 1.1 readers take it for true, the platform\'s YAML 1.2 '
        'reader for the string "on"; write true or false where a boolean was meant, or quote it ("on") '
        'where a string was meant')


def test_yaml_1_1_boolean_words_in_keys_unknown_places_and_extra_files_are_warnings(repo):
    path = repo / "pfs" / "global-launch.yaml"
    path.write_text(path.read_text() + "rollout:\n  canary: off\n  on: 5\n  quoted: 'off'\n")
    (repo / "pfs" / "notes.yaml").write_text("enabled: yes\n")
    report = nc.validate_repo(str(repo))
    assert report.ok, texts(report.errors)
    ambiguous = sorted((f.file, f.path, f.line) for f in report.warnings if "YAML 1.1 boolean word" in f.message)
    last = len(path.read_text().splitlines())
    assert ambiguous == [("pfs/global-launch.yaml", "rollout.canary", last - 2),
                         ("pfs/global-launch.yaml", "rollout.on", last - 1),
                         ("pfs/notes.yaml", "enabled", 1)]
    key = [f for f in report.warnings if f.path == "rollout.on"][0]
    assert key.message.startswith("key on is a YAML 1.1 boolean word") and 'quote it ("on")' in key.message


def test_quoted_and_yaml_1_2_booleans_are_not_ambiguous(repo):
    path = repo / "pfs" / "global-launch.yaml"
    path.write_text(path.read_text() + "notes:\n  a: 'off'\n  b: \"yes\"\n  c: offline\n  d: True\n")
    report = nc.validate_repo(str(repo))
    assert [f for f in report.warnings + report.errors if "YAML 1.1" in f.message] == []


def test_flag_store_parse_error_fails_validation(repo):
    (repo / STORE).write_text('{"version": "1", "version": "2"}')
    report = nc.validate_repo(str(repo))
    assert texts(report.errors) == [
        'config/feature-flags.json:1: duplicate key "version" (first at line 1); expected each key '
        "once per object (JSON readers keep only the last one)"]
    assert "access_mode" not in report.facts


# --------------------------------------------------------------------------
# Flag store rules
# --------------------------------------------------------------------------


def add_flags(**flags):
    def change(store):
        store["feature_flags"].update(flags)
    return change


@pytest.mark.parametrize("cycle", [["A_FLAG", "B_FLAG"], ["A_FLAG", "B_FLAG", "C_FLAG"]],
                         ids=["two", "three"])
def test_cycle_is_reported_with_its_path(repo, cycle):
    flags = {name: flag(requires=[cycle[(i + 1) % len(cycle)]]) for i, name in enumerate(cycle)}
    edit_flags(repo, add_flags(**flags))
    error = only_error(nc.validate_repo(str(repo)))
    assert error.path == "feature_flags.A_FLAG.requires"
    assert "dependency cycle %s -> A_FLAG;" % " -> ".join(cycle) in error.message


def test_self_requirement_is_a_cycle(repo):
    edit_flags(repo, add_flags(SELF_FLAG=flag(requires=["SELF_FLAG"])))
    assert "dependency cycle SELF_FLAG -> SELF_FLAG" in only_error(nc.validate_repo(str(repo))).message


def test_enabled_flag_in_a_cycle_reported_once(repo):
    edit_flags(repo, add_flags(A_FLAG=flag(True, ["B_FLAG"]), B_FLAG=flag(True, ["A_FLAG"])))
    assert "dependency cycle" in only_error(nc.validate_repo(str(repo))).message


def test_unknown_requires(repo):
    edit_flags(repo, add_flags(NEW_FLAG=flag(requires=["FOUNDER_BETA_MODE", "GHOST_FLAG"])))
    assert str(only_error(nc.validate_repo(str(repo)))) == (
        'config/feature-flags.json: feature_flags.NEW_FLAG.requires[1]: names unknown flag '
        '"GHOST_FLAG"; expected the name of a flag defined in feature_flags')


def test_enabled_flag_with_requirement_off(repo):
    edit_flags(repo, add_flags(NEW_FLAG=flag(True, ["FOUNDER_BETA_MODE", "PUBLIC_SOFT_LAUNCH_MODE"])))
    error = only_error(nc.validate_repo(str(repo)))
    assert error.path == "feature_flags.NEW_FLAG.enabled"
    assert "it requires PUBLIC_SOFT_LAUNCH_MODE (off)" in error.message


def test_enabled_flag_with_requirement_enabled_but_not_effective(repo):
    edit_flags(repo, add_flags(A_FLAG=flag(True, ["B_FLAG"]), B_FLAG=flag(True, ["C_FLAG"]),
                               C_FLAG=flag(False)))
    report = nc.validate_repo(str(repo))
    assert sorted(f.path for f in report.errors) == [
        "feature_flags.A_FLAG.enabled", "feature_flags.B_FLAG.enabled"]


def test_duplicate_requirement_is_a_warning(repo):
    edit_flags(repo, add_flags(A_FLAG=flag(requires=["FOUNDER_BETA_MODE", "FOUNDER_BETA_MODE"])))
    report = nc.validate_repo(str(repo))
    assert report.ok and [f.path for f in report.warnings] == ["feature_flags.A_FLAG.requires[1]"]


@pytest.mark.parametrize("name", ["lower_case", "9_STARTS_WITH_DIGIT", "HAS-DASH", "_LEAD"])
def test_flag_name_pattern(repo, name):
    edit_flags(repo, add_flags(**{name: flag()}))
    error = only_error(nc.validate_repo(str(repo)))
    assert error.file == STORE and "does not match ^[A-Z][A-Z0-9_]*$" in error.message


@pytest.mark.parametrize("change,path,fragment", [
    (lambda s: s["feature_flags"]["FOUNDER_BETA_MODE"].update(enabled="true"),
     "feature_flags.FOUNDER_BETA_MODE.enabled", 'found string "true"'),
    (lambda s: s["feature_flags"]["FOUNDER_BETA_MODE"].update(requires="NONE"),
     "feature_flags.FOUNDER_BETA_MODE.requires", "expected a list"),
    (lambda s: s["feature_flags"]["FOUNDER_BETA_MODE"].update(requires=[7]),
     "feature_flags.FOUNDER_BETA_MODE.requires[0]", "found integer 7"),
    (lambda s: s["feature_flags"]["FOUNDER_BETA_MODE"].pop("category"),
     "feature_flags.FOUNDER_BETA_MODE.category", "missing"),
    (lambda s: s.pop("version"), "version", "missing"),
    (lambda s: s.update(access_modes=[]), "access_modes", "found a list"),
    (lambda s: s["feature_flags"].update(JUNK_FLAG="on"), "feature_flags.JUNK_FLAG",
     'found string "on"; expected a mapping'),
])
def test_flag_store_schema(repo, change, path, fragment):
    edit_flags(repo, change)
    error = only_error(nc.validate_repo(str(repo)))
    assert (error.file, error.path) == (STORE, path) and fragment in error.message


def test_feature_flags_not_a_mapping_reports_once(repo):
    edit_flags(repo, lambda s: s.update(feature_flags=["FOUNDER_BETA_MODE"]))
    report = nc.validate_repo(str(repo))
    assert [f.path for f in report.errors] == ["feature_flags"]
    assert report.facts["access_mode"] == "none"


@pytest.mark.parametrize("name", nc.REQUIRED_FLAGS)
def test_launch_flags_must_exist(repo, name):
    def drop(store):
        del store["feature_flags"][name]
        for other in store["feature_flags"].values():
            other["requires"] = [r for r in other["requires"] if r != name]
    edit_flags(repo, drop)
    errors = nc.validate_repo(str(repo)).errors
    assert ("%s: feature_flags.%s: missing; expected flag %s" % (STORE, name, name)) in \
        " | ".join(texts(errors))


def test_requires_phase_needs_its_flag(repo):
    def drop(store):
        del store["feature_flags"]["MARKETPLACE_PHASE2_ENABLED"]
        store["feature_flags"]["MARKETPLACE_PHASE3_ENABLED"]["requires"] = []
    edit_flags(repo, drop)
    assert str(only_error(nc.validate_repo(str(repo)))) == (
        "config/feature-flags.json: feature_flags.MARKETPLACE_PHASE2_ENABLED: missing; expected it "
        "because pfs/marketplace-phase3.yaml requires_phase is 2")


def test_phase3_flag_must_require_phase2(repo):
    edit_flags(repo, lambda s: s["feature_flags"]["MARKETPLACE_PHASE3_ENABLED"].update(requires=[]))
    error = only_error(nc.validate_repo(str(repo)))
    assert error.path == "feature_flags.MARKETPLACE_PHASE3_ENABLED.requires"
    assert "does not include MARKETPLACE_PHASE2_ENABLED" in error.message


def test_phase3_may_require_phase2_transitively(repo):
    edit_flags(repo, add_flags(MARKETPLACE_GATE=flag(requires=["MARKETPLACE_PHASE2_ENABLED"])))
    edit_flags(repo, lambda s: s["feature_flags"]["MARKETPLACE_PHASE3_ENABLED"].update(
        requires=["MARKETPLACE_GATE"]))
    assert nc.validate_repo(str(repo)).ok


# --------------------------------------------------------------------------
# Cross-file consistency (warnings)
# --------------------------------------------------------------------------


def turn_on(*names):
    def change(store):
        for name in names:
            store["feature_flags"][name]["enabled"] = True
    return change


def warning_paths(repo):
    report = nc.validate_repo(str(repo))
    assert report.ok, texts(report.errors)
    return sorted((f.file, f.path) for f in report.warnings)


def test_marketplace_enabled_while_flag_off(repo):
    edit_yaml(repo, "marketplace-phase3.yaml", _set("marketplace.enabled", True))
    report = nc.validate_repo(str(repo))
    assert report.ok
    assert texts(report.warnings) == [
        "pfs/marketplace-phase3.yaml: marketplace.enabled: is true but flag "
        "MARKETPLACE_PHASE3_ENABLED is effectively off in config/feature-flags.json; "
        "expected them to agree"]


def test_marketplace_flag_on_while_pf_disabled(repo):
    edit_flags(repo, turn_on("MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED"))
    assert warning_paths(repo) == [("pfs/marketplace-phase3.yaml", "marketplace.enabled")]


def test_phase3_flag_enabled_without_phase2_is_not_effective(repo):
    edit_flags(repo, turn_on("MARKETPLACE_PHASE3_ENABLED"))
    error = only_error(nc.validate_repo(str(repo)))
    assert error.path == "feature_flags.MARKETPLACE_PHASE3_ENABLED.enabled"


def test_trading_without_marketplace(repo):
    edit_yaml(repo, "marketplace-phase3.yaml",
              _set("marketplace.trading_features.peer_to_peer.enabled", True))
    assert warning_paths(repo) == [
        ("pfs/marketplace-phase3.yaml", "marketplace.trading_features.peer_to_peer.enabled")]


def test_auctions_before_public_full(repo):
    edit_yaml(repo, "marketplace-phase3.yaml", _set("marketplace.enabled", True))
    edit_yaml(repo, "marketplace-phase3.yaml",
              _set("marketplace.trading_features.auction_system.enabled", True))
    edit_flags(repo, turn_on("MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED"))
    assert warning_paths(repo) == [
        ("pfs/marketplace-phase3.yaml", "marketplace.trading_features.auction_system.enabled")]


def test_launch_mode_pf_disagrees_with_flags(repo):
    edit_flags(repo, turn_on("PUBLIC_SOFT_LAUNCH_MODE"))
    edit_flags(repo, lambda s: s["access_modes"].update(
        founder_beta={"enabled": False}, public_soft={"enabled": True}))
    assert warning_paths(repo) == [
        ("pfs/founder-public-transition.yaml", "feature_flags.transition_control.soft_launch_mode"),
        ("pfs/founder-public-transition.yaml", "transition_phases.founder.active"),
        ("pfs/global-launch.yaml", "feature_flags.soft_launch_mode"),
    ]


def test_consistent_soft_launch_has_no_warnings(repo):
    edit_flags(repo, turn_on("PUBLIC_SOFT_LAUNCH_MODE"))
    edit_flags(repo, lambda s: s["access_modes"].update(
        founder_beta={"enabled": False}, public_soft={"enabled": True}))
    for key in ("feature_flags.soft_launch_mode", "feature_flags.public_signup"):
        edit_yaml(repo, "global-launch.yaml", _set(key, True))
    edit_yaml(repo, "founder-public-transition.yaml",
              _set("feature_flags.transition_control.soft_launch_mode", True))
    edit_yaml(repo, "founder-public-transition.yaml", _set("transition_phases.founder.active", False))
    edit_yaml(repo, "founder-public-transition.yaml",
              _set("transition_phases.public_soft.active", True))
    assert warning_paths(repo) == []


def test_public_signup_in_founder_mode(repo):
    edit_yaml(repo, "global-launch.yaml", _set("feature_flags.public_signup", True))
    assert warning_paths(repo) == [("pfs/global-launch.yaml", "feature_flags.public_signup")]


def test_stale_access_modes(repo):
    edit_flags(repo, lambda s: s["access_modes"]["public_full"].update(enabled=True))
    assert warning_paths(repo) == [(STORE, "access_modes.public_full.enabled")]


def test_no_active_transition_phase(repo):
    edit_yaml(repo, "founder-public-transition.yaml", _set("transition_phases.founder.active", False))
    assert warning_paths(repo) == [("pfs/founder-public-transition.yaml", "transition_phases")]


# --------------------------------------------------------------------------
# Flag semantics API
# --------------------------------------------------------------------------


CHAIN = {"A": flag(True, ["B"]), "B": flag(True, ["C"]), "C": flag(False)}


def test_flag_effective_recursive():
    assert nc.flag_effective(CHAIN, "C") is False
    assert nc.flag_effective(CHAIN, "A") is False
    on = dict(CHAIN, C=flag(True))
    assert nc.flag_effective(on, "A") is True
    assert nc.flag_effective({"feature_flags": on}, "A") is True  # the whole store works too


def test_flag_effective_unknown_name_and_missing_dependency():
    with pytest.raises(KeyError, match="unknown flag 'NOPE'"):
        nc.flag_effective(CHAIN, "NOPE")
    assert nc.flag_effective({"A": flag(True, ["GONE"])}, "A") is False


def test_flag_effective_is_strict_about_values():
    assert nc.flag_effective({"A": {"enabled": "true", "requires": []}}, "A") is False
    assert nc.flag_effective({"A": {"enabled": True}}, "A") is True  # no requires: none needed
    assert nc.flag_effective({"A": {"enabled": True, "requires": "B"}}, "A") is False
    assert nc.flag_effective({"A": ["enabled"]}, "A") is False


def test_flag_effective_cycle_is_off():
    cyclic = {"A": flag(True, ["B"]), "B": flag(True, ["A"]), "C": flag(True, ["A"])}
    assert nc.effective_flags(cyclic) == {"A": False, "B": False, "C": False}


@pytest.mark.parametrize("on,mode", [
    ((), "none"),
    (("FOUNDER_BETA_MODE",), "founder_beta"),
    (("FOUNDER_BETA_MODE", "PUBLIC_SOFT_LAUNCH_MODE"), "public_soft"),
    (("PUBLIC_SOFT_LAUNCH_MODE", "PUBLIC_FULL_LAUNCH_MODE"), "public_full"),
    (("PUBLIC_FULL_LAUNCH_MODE",), "public_full"),
])
def test_access_mode_ladder(on, mode):
    flags = {name: flag(name in on) for dummy, name in nc.ACCESS_MODE_FLAGS}
    assert nc.access_mode(flags) == mode


def test_access_mode_ignores_a_mode_flag_that_is_not_effective():
    flags = {"PUBLIC_FULL_LAUNCH_MODE": flag(True, ["GATE"]), "GATE": flag(False),
             "FOUNDER_BETA_MODE": flag(True)}
    assert nc.access_mode(flags) == "founder_beta"
    assert nc.access_mode(None) == "none"


@pytest.mark.parametrize("graph,cycles", [
    ({"A": ["B"], "B": ["A"]}, [["A", "B", "A"]]),
    ({"C": ["A"], "A": ["B"], "B": ["C"]}, [["A", "B", "C", "A"]]),
    ({"A": ["A"]}, [["A", "A"]]),
    ({"A": ["B"], "B": ["C"], "C": []}, []),
    ({"A": ["B", "C"], "B": ["D"], "C": ["D"], "D": []}, []),  # diamond
    ({"A": ["B"], "B": ["A"], "X": ["Y"], "Y": ["Z"], "Z": ["X"], "Q": ["A"]},
     [["A", "B", "A"], ["X", "Y", "Z", "X"]]),
    ({"A": ["B", "GHOST"], "B": ["C"], "C": ["A", "B"]}, [["A", "B", "C", "A"]]),
])
def test_find_cycles(graph, cycles):
    flags = {name: flag(requires=deps) for name, deps in graph.items()}
    assert nc.find_cycles(flags) == cycles


def test_find_cycles_tolerates_malformed_entries():
    assert nc.find_cycles({"A": "junk", "B": {"requires": "A"}, "C": {"requires": [1]}}) == []


# --------------------------------------------------------------------------
# Small pieces
# --------------------------------------------------------------------------


def test_finding_rendering():
    assert str(nc.Finding("pfs/a.yaml", "x.y[2].z", "found null; expected a string")) == \
        "pfs/a.yaml: x.y[2].z: found null; expected a string"
    assert str(nc.Finding("f.json", "", "bad", line=3)) == "f.json:3: bad"
    assert nc.Finding("f", "p", "m").to_dict() == {
        "file": "f", "path": "p", "line": None, "message": "m", "text": "f: p: m"}


def test_key_path():
    assert nc.key_path("", "a") == "a"
    assert nc.key_path("a", 3) == "a[3]"
    assert nc.key_path("a", "b c") == 'a["b c"]'
    assert nc.key_path("a", True) == 'a["True"]'


def test_report_is_json_serialisable(repo):
    edit_yaml(repo, "global-launch.yaml", _set("feature_flags.public_signup", "x"))
    data = json.loads(json.dumps(nc.validate_repo(str(repo)).to_dict()))
    assert data["ok"] is False and data["errors"][0]["path"] == "feature_flags.public_signup"


def test_check_schema_mechanism():
    spec = {"type": "map", "keys": {"need": {"type": "int"},
                                    "maybe": {"type": "str", "optional": True},
                                    "free": {"type": "any"}},
            "values": {"type": "any"}}
    assert nc.check_schema({"need": 1, "free": None}, spec) == []
    assert nc.check_schema({"need": 1.5, "maybe": 2, "free": 1}, spec) == [
        ("need", "found number 1.5; expected an integer"),
        ("maybe", "found integer 2; expected a string"),
    ]
    assert nc.check_schema({}, spec, path="root") == [
        ("root.need", "missing; expected an integer"),
        ("root.free", "missing; expected a value"),
    ]
    lst = {"type": "list", "items": {"type": "bool"}, "min_len": 2}
    assert nc.check_schema([True, "x"], lst) == [("[1]", 'found string "x"; expected a boolean '
                                                         "(true or false)")]
    assert nc.check_schema([True], lst) == [("", "found a list with 1 entries; expected at least 2")]
    ranged = {"type": "int", "min": 1, "max": 5}
    assert nc.check_schema(9, ranged, "n") == [("n", "found integer 9; expected an integer from 1 to 5")]


def test_long_strings_are_truncated_in_messages(repo):
    edit_yaml(repo, "global-launch.yaml", _set("pf_id", "X" * 500))
    assert len(only_error(nc.validate_repo(str(repo))).message) < 200


def _imported(module):
    source = Path(module.__file__).read_text()
    return sorted(set(line.split()[1] for line in source.splitlines()
                      if line.startswith(("import ", "from ")) or
                      line.startswith(("    import ",)) and "yaml" in line))


def test_module_imports_only_stdlib_and_yaml():
    semantics = "ansible_collections.nexus_cos.launch.plugins.module_utils.flag_semantics"
    own = (semantics, documents.__name__)
    imports = _imported(nc)
    assert sorted(set(name.split(".")[0] for name in imports if name not in own)) == \
        ["__future__", "json", "os", "re"]
    # The collection modules it uses: the reader needs PyYAML (for YAML only), the semantics nothing.
    assert sorted(set(name.split(".")[0] for name in _imported(documents))) == \
        ["__future__", "collections", "json", "os", "re", "stat", "yaml"]
    assert _imported(sys.modules[semantics]) == ["__future__"]


def _paths(data, prefix=()):
    yield prefix
    children = data.items() if isinstance(data, dict) else \
        enumerate(data) if isinstance(data, list) else ()
    for key, value in children:
        yield from _paths(value, prefix + (key,))


def _replaced(data, path, value):
    data = json.loads(json.dumps(data))
    if not path:
        return value
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def test_no_malformed_value_anywhere_crashes_the_checks():
    """Every key of every valid file, replaced by every wrong type: findings,
    never an exception (the precheck must report, not crash)."""
    pfs = {name: documents.load_yaml_file(str(FIXTURES / "valid" / "pfs" / name)) for name in nc.PF_SCHEMAS}
    store = documents.load_json_file(str(FIXTURES / "valid" / STORE))
    wrong = [None, [], {}, "x", -1, True, [None], {"X": None}]
    for name, data in pfs.items():
        for path in _paths(data):
            for value in wrong:
                report = nc.Report()
                broken = _replaced(data, path, value)
                if isinstance(broken, dict):
                    nc.check_pf(name, broken, name, report)
                    loaded = {n: (n, d) for n, d in pfs.items()}
                    loaded[name] = (name, broken)
                    nc.check_cross_file(loaded, store, STORE, report)
    for path in _paths(store):
        for value in wrong:
            broken = _replaced(store, path, value)
            if isinstance(broken, dict):
                report = nc.Report()
                nc.check_flag_store(broken, STORE, report)
                nc.check_cross_file({n: (n, d) for n, d in pfs.items()}, broken, STORE, report)
                nc.access_mode(broken)
                nc.find_cycles(broken)


def test_without_pyyaml_yaml_files_are_errors_not_a_crash(monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)  # a host without python3-yaml
    # Fresh imports of the reader and the validator; monkeypatch puts the old ones back.
    for name in (documents.__name__, nc.__name__):
        monkeypatch.delitem(sys.modules, name)
    module = importlib.import_module(nc.__name__)
    report = module.validate_repo(str(FIXTURES / "valid"))
    assert sys.modules[documents.__name__].HAS_YAML is False
    assert len(report.errors) == 4 and all("python3-yaml" in f.message for f in report.errors)
    assert report.facts["access_mode"] == "founder_beta"  # the JSON side still validates
