"""plugin_utils/precheck_plan.py: the tag rules of a check, the conversion
of a role's variables to its spec's types, host paths kept as written, and
a registered check without a role refused naming the file."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import registered_names
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import precheck_plan


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("run_tags,skip_tags,expected", [
    (["all"], [], True),
    ([], [], True),
    (["precheck"], [], True),
    (["precheck_disk"], [], True),
    (["precheck_api"], [], False),
    (["tagged"], [], True),
    (["all"], ["precheck_disk"], False),
    (["all"], ["precheck"], False),
    (["all"], ["precheck_api"], True),
    (["precheck"], ["precheck_disk"], False),
    (["all"], ["tagged"], False),
])
def test_a_check_is_planned_as_its_tags_would_be_run(run_tags, skip_tags, expected):
    assert precheck_plan.selected("disk", run_tags, skip_tags) is expected


def test_the_entry_converts_text_to_the_spec_types_and_keeps_host_paths_as_written():
    spec = {"precheck_x_severity": {"type": "str", "choices": ["error", "warn"], "default": "error"},
            "precheck_x_limit": {"type": "float"},
            "precheck_x_count": {"type": "int"},
            "precheck_x_on": {"type": "bool"},
            "precheck_x_dir": {"type": "path"},
            "precheck_x_dirs": {"type": "list", "elements": "path"}}
    entry, errors = precheck_plan.plan_entry("x", spec, {
        "precheck_x_limit": "2.5", "precheck_x_count": "3", "precheck_x_on": "no",
        "precheck_x_dir": "~nexus/$HOME", "precheck_x_dirs": ["~/a", "/b"]})
    assert errors == []
    assert entry == {"severity": "error", "params": {
        "limit": 2.5, "count": 3, "on": False, "dir": "~nexus/$HOME", "dirs": ["~/a", "/b"]}}


def test_each_bad_value_is_named_with_its_role():
    spec = {"precheck_x_severity": {"type": "str", "choices": ["error", "warn"]}, "precheck_x_limit": {"type": "float"}}
    entry, errors = precheck_plan.plan_entry("x", spec, {"precheck_x_severity": "fatal", "precheck_x_limit": "lots"})
    assert entry is None and len(errors) == 2
    assert all(e.startswith("role nexus_cos.launch.precheck_x (meta/argument_specs.yml): ") for e in errors)
    assert any("precheck_x_limit" in e and "float" in e for e in errors)


def test_a_registered_check_without_a_role_is_refused_naming_the_file(monkeypatch, tmp_path):
    monkeypatch.setattr(precheck_plan, "ROLES_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"check disk is registered but .*precheck_disk/meta/argument_specs.yml does not exist"):
        precheck_plan.role_spec("disk", load)


def test_the_real_roles_plan_every_registered_check_from_their_defaults():
    defaults = {"nexus_" + k: "/srv/" + k for k in ("repo_dir", "backup_dir", "audit_dir", "tls_dir", "pf_dir")}

    def template(raw):
        # Stands in for Ansible's templar: the role defaults name nexus_* paths.
        text = yaml.safe_dump(raw)
        for var, value in defaults.items():
            text = text.replace("{{ %s }}" % var, value)
        return yaml.safe_load(text)

    plan, errors = precheck_plan.build({}, template, load, precheck_plan.all_defaults(load))
    assert errors == []
    assert list(plan) == registered_names()
    assert plan["disk"]["params"]["paths"] == ["/srv/repo_dir", "/srv/backup_dir", "/srv/audit_dir"]
    assert os.path.isdir(precheck_plan.ROLES_DIR)


def test_values_rendered_as_text_reach_the_plan_as_the_types_the_specs_declare():
    # ansible-core before 2.19 renders every template as text ("{{ 1.5 * 2 }}" is "3.0"): the plan
    # converts each value to its declared type, so the checks get numbers on every supported release.
    def as_text(raw):
        def text(value):
            if isinstance(value, (list, tuple)):
                return [text(v) for v in value]
            return value if isinstance(value, str) or value is None else str(value)
        return dict((var, text(value)) for var, value in raw.items())

    plan, errors = precheck_plan.build({"precheck_disk_min_free_gb": "3.0"}, as_text, load, precheck_plan.all_defaults(load))
    assert errors == []
    assert plan["disk"]["params"]["min_free_gb"] == 3.0 and isinstance(plan["disk"]["params"]["min_free_gb"], float)
    for name, entry in plan.items():
        spec = precheck_plan.role_spec(name, load)
        for var, option in spec.items():
            value = entry["params"].get(var[len(precheck_plan.role_name(name)) + 1:])
            if option.get("type") in ("int", "float") and value is not None:
                assert type(value).__name__ == option["type"], (name, var, value)
