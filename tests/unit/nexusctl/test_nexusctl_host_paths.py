# -*- coding: utf-8 -*-
"""nexusctl takes the host paths from their one home, the launch_context
role's defaults, and no Python outside the modules keeps a copy."""

from __future__ import annotations

import os

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import host_paths
from ansible_collections.nexus_cos.launch.nexusctl.collection_root import ROOT
from ansible_collections.nexus_cos.launch.plugins.module_utils import documents


def write(tmp_path, text):
    path = tmp_path / "main.yml"
    path.write_text(text)
    return str(path)


def test_the_role_defaults_resolved():
    assert host_paths.defaults_file() == os.path.join(ROOT, "roles", "launch_context", "defaults", "main.yml")
    assert host_paths.host_default("nexus_audit_dir") == "/var/log/nexus-cos/phase4-audit"
    assert host_paths.host_default("nexus_repo_dir") == "/opt/nexus-cos"
    assert host_paths.host_default("nexus_flag_store") == "/opt/nexus-cos/config/feature-flags.json"
    assert host_paths.host_default("nexus_backup_dir") == "/opt/nexus-cos/backups/phase4"


def test_references_resolve_through_several_values(tmp_path):
    path = write(tmp_path, 'a: /srv\nb: "{{ a }}/x"\nc: "{{b}}/{{ a }}"\n')
    assert host_paths.host_default("c", path) == "/srv/x//srv"


@pytest.mark.parametrize("text, name, fragment", [
    ('a: "{{ b | dirname }}"\nb: /x\n', "a", 'a is string "{{ b | dirname }}", which only Ansible can render'),
    ('a: "{{ b }}"\nb: "{{ a }}"\n', "a", "a refers to itself through a -> b -> a"),
    ("a: /x\n", "b", "no b; expected the host path defaults to define it"),
    ("a: 5\n", "a", "a is integer 5; expected a path"),
    ("a: [1\n", "a", "cannot read the host path defaults: "),
])
def test_what_cannot_be_resolved_is_refused_by_name(tmp_path, text, name, fragment):
    with pytest.raises(host_paths.HostPathsError) as err:
        host_paths.host_default(name, write(tmp_path, text))
    assert fragment in str(err.value)


# run_audit's AUDIT_ARGUMENT_SPEC is the modules' audit_dir argument default,
# documented beside the modules (doc_fragments/audit.py); it goes with them.
MODULE_DEFAULTS = (os.path.join("plugins", "module_utils", "run_audit.py"),)


def test_no_python_outside_the_modules_copies_a_host_path():
    defaults = documents.load_yaml_file(host_paths.defaults_file())
    paths = set()
    for name in defaults:
        try:
            value = host_paths.host_default(name)
        except host_paths.HostPathsError:
            continue  # not a path (a number, a list, a Jinja expression)
        if value.startswith("/"):
            paths.add(value)
    assert "/opt/nexus-cos" in paths and "/var/log/nexus-cos/phase4-audit" in paths
    found = []
    for top in ("nexusctl", os.path.join("plugins", "module_utils"), os.path.join("plugins", "plugin_utils"),
                os.path.join("plugins", "action")):
        for folder, dummy, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                path = os.path.join(folder, name)
                relpath = os.path.relpath(path, ROOT)
                if not name.endswith(".py") or relpath in MODULE_DEFAULTS:
                    continue
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
                found.extend("%s: %s" % (relpath, value) for value in sorted(paths) if value in text)
    assert found == []
