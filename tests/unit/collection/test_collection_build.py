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
import subprocess
import tarfile

import pytest
import yaml
from packaging.requirements import Requirement

from ansible_collections.nexus_cos.launch.tests.unit.utils.collection_build import (
    ROOT, build_collection, galaxy_info, isolated_env, pinned_requirements, requirement_lines, tool)

# Trees shipped whole: every file of the checkout under them is in the tarball.
SHIPPED_TREES = ("playbooks", "roles", "plugins", "meta", "nexusctl", "inventories")
SHIPPED_FILES = ("README.md", "LICENSE", "CHANGELOG.md", "bin/nexusctl",
                 "docs/activation.md", "docs/audit-format.md", "docs/rollback.md", "docs/variables.md", "docs/playbooks.md",
                 "changelogs/changelog.yaml", "changelogs/config.yaml")
# Never shipped: test equipment, checkout tooling, caches, the .collections link.
LEFT_OUT = ("sandbox/*", "tests/*", "molecule/*", ".ci/*", ".config/*", ".venv/*", ".cache/*", "artifacts/*",
            "dist/*", "context/*", ".collections", ".collections/*", "*.tar.gz", "*__pycache__*", "*.pyc",
            "requirements.txt", "constraints.txt", "Makefile", "pytest.ini", "execution-environment.yml", "galaxy.yml",
            "docs/render_variables.py", "docs/_build/*", ".ansible-lint", ".yamllint", ".gitignore",
            # what points at the checkout: its ansible.cfg (collections_path ./.collections), the sandbox inventory
            "ansible.cfg", "inventories/sandbox", "inventories/sandbox/*", "docs/build_site", "changelogs/.plugin-cache.yaml",
            # the tests' collections (test equipment: the collection needs none)
            "requirements.yml", "tests/requirements.yml")
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
    assert manifest["dependencies"] == info["dependencies"] == {}
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


def test_the_collection_depends_on_no_other_collection():
    """What the tests use is tests/requirements.yml; a dependency here would
    send an offline install to Galaxy and fail it."""
    assert galaxy_info()["dependencies"] == {}, (
        "galaxy.yml: dependencies is %r; the playbooks and plugins use ansible.builtin only, test needs go in "
        "tests/requirements.yml" % galaxy_info()["dependencies"])


def test_no_file_of_the_tarball_names_the_checkout(tarball):
    """An installed copy must not lean on where it was built."""
    leaks = []
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            if member.isfile():
                text = tar.extractfile(member).read().decode("utf-8", "replace")
                if ROOT in text or "./.collections" in text:
                    leaks.append(member.name)
    assert not leaks, "these files of the tarball name the checkout (%s or ./.collections): %s" % (ROOT, leaks)


@pytest.fixture(scope="module")
def offline_install(tarball, tmp_path_factory):
    """The tarball installed with --offline into an empty collections path,
    the way an air-gapped controller or an EE's galaxy stage does."""
    path = str(tmp_path_factory.mktemp("offline") / "collections")
    os.makedirs(path)
    proc = subprocess.run([tool("ansible-galaxy"), "collection", "install", "--offline", "-p", path, tarball],
                          capture_output=True, text=True, cwd=os.path.dirname(path), env=isolated_env(path),
                          check=False, timeout=300)
    assert proc.returncode == 0, "ansible-galaxy collection install --offline failed:\n%s%s" % (proc.stdout, proc.stderr)
    info = galaxy_info()
    installed = os.path.join(path, "ansible_collections", info["namespace"], info["name"])
    assert os.path.isfile(os.path.join(installed, "MANIFEST.json")), proc.stdout
    assert sorted(os.listdir(os.path.join(path, "ansible_collections"))) == [info["namespace"]], (
        "the offline install brought more than the collection: %s" % os.listdir(os.path.join(path, "ansible_collections")))
    return path


def test_every_playbook_of_the_offline_install_passes_syntax_check_by_fqcn(offline_install):
    playbooks = sorted(name[:-len(".yml")] for name in os.listdir(os.path.join(ROOT, "playbooks")) if name.endswith(".yml"))
    assert playbooks
    proc = subprocess.run([tool("ansible-playbook"), "--syntax-check", "-i", "localhost,"]
                          + ["nexus_cos.launch." + name for name in playbooks],
                          capture_output=True, text=True, cwd=os.path.dirname(offline_install),
                          env=isolated_env(offline_install), check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_playbook_of_the_offline_install_runs_by_fqcn_without_the_checkout(offline_install, tmp_path):
    """nexus_cos.launch.status, for real, on a local host: no ansible.cfg of the
    checkout, the collection found only in the offline install."""
    from ansible_collections.nexus_cos.launch.tests.unit.utils.play_target import Target
    target = Target(tmp_path)
    try:
        run_dir = tmp_path / "elsewhere"
        run_dir.mkdir()
        proc = subprocess.run([tool("ansible-playbook"), "-i", str(target.inventory), "nexus_cos.launch.status"],
                              capture_output=True, text=True, cwd=str(run_dir), env=isolated_env(offline_install),
                              check=False, timeout=300)
    finally:
        target.close()
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "testhost" in proc.stdout and "failed=0" in proc.stdout, proc.stdout[-4000:]
