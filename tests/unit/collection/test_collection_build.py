# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""What `ansible-galaxy collection build` puts in the tarball: everything the
playbooks and operators need, none of the checkout's test equipment, tooling
or caches (galaxy.yml build_ignore); and what the collection declares for an
execution environment resolves inside it."""

from __future__ import annotations

import fnmatch
import json
import os
import tarfile

import pytest
import yaml
from packaging.requirements import Requirement

from ansible_collections.nexus_cos.launch.tests.unit.utils.collection_build import ROOT, build_collection, galaxy_info, pinned_requirements, requirement_lines

# Trees shipped whole: every file of the checkout under them is in the tarball.
SHIPPED_TREES = ("playbooks", "roles", "plugins", "meta", "nexusctl", "inventories")
SHIPPED_FILES = ("README.md", "LICENSE", "CHANGELOG.md", "bin/nexusctl", "requirements.yml",
                 "docs/activation.md", "docs/audit-format.md", "docs/rollback.md", "docs/variables.md",
                 "changelogs/changelog.yaml", "changelogs/config.yaml")
# Never shipped: test equipment, checkout tooling, caches, the .collections link.
LEFT_OUT = ("sandbox/*", "tests/*", "molecule/*", ".ci/*", ".config/*", ".venv/*", ".cache/*", "artifacts/*",
            "dist/*", "context/*", ".collections", ".collections/*", "*.tar.gz", "*__pycache__*", "*.pyc",
            "requirements.txt", "constraints.txt", "Makefile", "pytest.ini", "execution-environment.yml", "galaxy.yml",
            "docs/render_variables.py", "docs/_build/*", ".ansible-lint", ".yamllint", ".gitignore",
            # what points at the checkout: its ansible.cfg (collections_path ./.collections), the sandbox inventory
            "ansible.cfg", "inventories/sandbox", "inventories/sandbox/*", "docs/build_site", "changelogs/.plugin-cache.yaml")
# Parts of a shipped tree that are the checkout's own.
NOT_SHIPPED_UNDER = ("inventories/sandbox/",)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    return build_collection(str(tmp_path_factory.mktemp("build")))


@pytest.fixture(scope="module")
def members(tarball):
    with tarfile.open(tarball) as tar:
        return {m.name: m for m in tar.getmembers()}


def _checkout_files(tree):
    found = set()
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, tree)):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if not name.endswith(".pyc"):
                found.add(os.path.relpath(os.path.join(dirpath, name), ROOT))
    found = {path for path in found if not path.startswith(NOT_SHIPPED_UNDER)}
    return found


@pytest.mark.parametrize("tree", SHIPPED_TREES)
def test_every_file_of_a_shipped_tree_is_in_the_tarball(members, tree):
    files = {name for name, m in members.items() if m.isfile() and name.startswith(tree + "/")}
    expected = _checkout_files(tree)
    assert expected, "%s/ is empty in the checkout" % tree
    assert files == expected, "missing: %s; unexpected: %s" % (sorted(expected - files), sorted(files - expected))


def test_the_docs_and_operator_files_are_in_the_tarball(members):
    missing = [name for name in SHIPPED_FILES if name not in members or not members[name].isfile()]
    assert not missing, "the tarball lacks %s" % missing


def test_nothing_of_the_checkout_tooling_is_in_the_tarball(members):
    leaked = sorted(name for name in members if any(fnmatch.fnmatch(name, pattern) for pattern in LEFT_OUT))
    assert not leaked, "galaxy.yml build_ignore lets these into the tarball: %s" % leaked


def test_the_manifest_names_the_collection_and_its_dependencies(tarball):
    info = galaxy_info()
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == (info["namespace"], info["name"],
                                                                              info["version"])
    assert manifest["dependencies"] == info["dependencies"]
    assert manifest["license"] == ["Apache-2.0"]


def test_the_execution_environment_metadata_names_files_the_tarball_carries(members, tarball):
    """ansible-builder reads meta/execution-environment.yml of the installed
    collection; a file it names but build_ignore dropped breaks the build."""
    with tarfile.open(tarball) as tar:
        meta = yaml.safe_load(tar.extractfile("meta/execution-environment.yml"))
    deps = meta["dependencies"]
    assert set(deps) == {"python", "system"}, deps
    for kind in ("python", "system"):
        assert deps[kind] in members, "meta/execution-environment.yml names %s, not in the tarball" % deps[kind]


def test_the_collection_python_needs_are_pinned_inside_their_range_in_requirements_txt():
    """requirements.txt is where versions are pinned; meta/ee-requirements.txt
    says which packages the collection needs on a controller, as a range."""
    pins = pinned_requirements()
    needs = [Requirement(line) for line in requirement_lines(os.path.join(ROOT, "meta", "ee-requirements.txt"))]
    assert needs, "meta/ee-requirements.txt lists nothing"
    for need in needs:
        pinned = pins.get(need.name.lower())
        assert pinned, "meta/ee-requirements.txt needs %s; requirements.txt does not pin it" % need.name
        assert need.specifier.contains(pinned), (
            "requirements.txt pins %s==%s, outside meta/ee-requirements.txt's %s" % (need.name, pinned, need))


def test_the_manifest_says_where_users_find_the_docs_the_source_and_the_issues(tarball):
    """Galaxy links a collection's page to these; a missing one is a dead end for a user."""
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
    for key in ("repository", "documentation", "homepage", "issues"):
        assert (manifest.get(key) or "").startswith("https://"), "galaxy.yml: %s is %r, expected an https:// URL" % (
            key, manifest.get(key))
    assert manifest["description"] and manifest["tags"], "galaxy.yml: description and tags are what Galaxy lists"


def test_every_role_ships_the_readme_and_galaxy_info_galaxy_shows(members):
    roles = {name.split("/")[1] for name in members if name.startswith("roles/") and name.count("/") >= 2}
    assert roles
    for role in sorted(roles):
        for name in ("README.md", "meta/main.yml", "meta/argument_specs.yml"):
            assert "roles/%s/%s" % (role, name) in members, "roles/%s/%s is not in the tarball" % (role, name)


def test_galaxy_importer_accepts_the_built_tarball():
    """make lint's tests/galaxy/import: what Galaxy runs on an upload, offline, with no finding."""
    import subprocess
    import sys
    env = dict(os.environ, NEXUS_VENV_BIN=os.path.dirname(sys.executable))
    proc = subprocess.run([os.path.join(ROOT, "tests", "galaxy", "import")], capture_output=True, text=True, env=env,
                          check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "imports cleanly" in proc.stdout
