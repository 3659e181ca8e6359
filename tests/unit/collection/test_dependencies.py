# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The checkout's Python dependencies: constraints.txt pins the whole venv
in agreement with requirements.txt (make venv installs both), and the venv it
gives imports what the collection uses without a warning."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from packaging.utils import canonicalize_name

from ansible_collections.nexus_cos.launch.tests.unit.utils.collection_build import pinned_requirements
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT


def canonical(pins):
    return {canonicalize_name(name): version for name, version in pins.items()}


def test_constraints_pin_every_requirement_at_the_version_requirements_txt_pins():
    wanted, locked = canonical(pinned_requirements()), canonical(pinned_requirements("constraints.txt"))
    for name, version in sorted(wanted.items()):
        assert name in locked, "constraints.txt does not pin %s (requirements.txt does): run make lock" % name
        assert locked[name] == version, (
            "constraints.txt pins %s==%s, requirements.txt %s==%s: run make lock" % (name, locked[name], name, version))


def test_constraints_pin_the_transitive_packages_too():
    # A lock of the top-level names only would leave the rest to the index of the day.
    locked = canonical(pinned_requirements("constraints.txt"))
    for transitive in ("jinja2", "pyyaml", "cffi", "urllib3", "resolvelib"):
        assert transitive in locked, "constraints.txt does not pin %s, a dependency of requirements.txt: run make lock" % transitive


def test_passlib_comes_from_libpass_only():
    # Both distributions install the same passlib package: two would overwrite each other's files.
    for name in ("requirements.txt", "constraints.txt"):
        pins = canonical(pinned_requirements(name))
        assert "passlib" not in pins, "%s pins passlib; its maintained fork libpass (same import name) replaces it" % name
        assert "libpass" in pins, "%s does not pin libpass" % name


@pytest.mark.parametrize("code", [
    # the approvals' hash check (plugins/plugin_utils/approvals.py): passlib 1.7 imported crypt
    "from passlib.context import CryptContext; from passlib.hash import sha512_crypt; "
    "CryptContext(schemes=['pbkdf2_sha256', 'sha512_crypt']).verify('x', sha512_crypt.hash('x'))",
    # imported by every ansible command: cryptography from 51 on warns on its DSA module
    "import ansible._internal._ssh._ssh_agent",
])
def test_the_venv_imports_without_a_warning(code):
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, (
        "%r failed with warnings as errors (is the venv the one constraints.txt pins? make venv):\n%s"
        % (code, proc.stderr[-2000:]))


# Namespaces of Galaxy collections, and what under ``ansible.`` is ansible-core's
# Python rather than a collection, for the scan below.
COLLECTION_NAMESPACES = ("ansible", "community", "containers", "kubernetes", "amazon", "azure", "google", "cisco",
                         "awx", "redhat", "infra", "netbox", "openstack")
CORE_PYTHON = ("ansible.module_utils", "ansible.plugins", "ansible.parsing", "ansible.playbook", "ansible.inventory",
               "ansible.errors", "ansible.utils.vars", "ansible._internal", "ansible._protomatter", "ansible.executor",
               "ansible.template", "ansible.vars", "ansible.cli", "ansible.config", "ansible.galaxy", "ansible.release")
# Where collections are used: the plays, roles and inventories, molecule, the sandbox, the tests.
USED_IN = ("playbooks", "roles", "molecule", "sandbox", "tests", "inventories", "plugins", "nexusctl", "ansible.cfg")
_FQCN = re.compile(r"(?<![\w.\-/])((%s)\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*(?![\w\-/])" % "|".join(COLLECTION_NAMESPACES))
_QUOTED_FQCN = re.compile(r"""["']((%s)\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*["']""" % "|".join(COLLECTION_NAMESPACES))


def collections_used():
    """{collection: [files]} of every collection FQCN the checkout uses, but
    ansible.builtin and ansible.legacy (ansible-core itself): YAML, ini and templates outside comments; Python only in
    string literals (a module path is not a collection)."""
    used = {}
    for top in USED_IN:
        base = os.path.join(ROOT, top)
        walk = [(ROOT, [], [top])] if os.path.isfile(base) else os.walk(base)
        for dirpath, dirnames, filenames in walk:
            dirnames[:] = [d for d in dirnames if d not in ("__pycache__", ".pytest_cache")]
            for name in filenames:
                path = os.path.join(dirpath, name)
                ext = os.path.splitext(name)[1]
                if ext == ".py":
                    pattern = _QUOTED_FQCN
                elif ext in (".yml", ".yaml", ".cfg", ".ini", ".j2", ""):
                    pattern = _FQCN
                else:
                    continue
                try:
                    with open(path, encoding="utf-8") as handle:
                        text = handle.read()
                except (OSError, UnicodeDecodeError):
                    continue
                if pattern is _FQCN:
                    text = "\n".join(line.split(" #")[0] for line in text.splitlines() if not line.lstrip().startswith("#"))
                for match in pattern.finditer(text):
                    if match.group(0).strip("\"'").startswith(CORE_PYTHON) or match.group(1) in ("ansible.builtin", "ansible.legacy"):
                        continue
                    used.setdefault(match.group(1), set()).add(os.path.relpath(path, ROOT))
    return used


def test_requirements_install_ansible_core_not_the_ansible_bundle():
    # The bundle is ~450 MB of collections; the tests use three (tests/requirements.yml).
    for name in ("requirements.txt", "constraints.txt"):
        pins = canonical(pinned_requirements(name))
        assert "ansible" not in pins, "%s pins the ansible package; ansible-core and tests/requirements.yml replace it" % name
        assert "ansible-core" in pins, "%s does not pin ansible-core" % name


def test_every_collection_the_checkout_uses_is_in_the_test_requirements():
    pinned = pinned_test_collections()
    used = collections_used()
    assert "community.docker" in used and "ansible.posix" in used, "the scan found none of the known uses: %s" % used
    missing = {name: sorted(files) for name, files in used.items() if name not in pinned}
    assert not missing, "used but not in tests/requirements.yml: %s" % missing


def test_every_test_collection_is_used_or_needed_by_one_that_is():
    used = collections_used()
    needed = set()
    for name in used:
        needed |= set(installed_manifest(name).get("dependencies") or {})
    unused = sorted(set(pinned_test_collections()) - set(used) - needed)
    assert not unused, "tests/requirements.yml names %s, which nothing uses" % unused


def test_the_venv_has_each_test_collection_at_its_pinned_version():
    for name, version in sorted(pinned_test_collections().items()):
        found = installed_manifest(name).get("version")
        assert found == version, "the venv has %s %s, tests/requirements.yml pins %s: make venv" % (name, found, version)


def pinned_test_collections():
    """{fqcn: version} of tests/requirements.yml."""
    with open(os.path.join(ROOT, "tests", "requirements.yml"), encoding="utf-8") as handle:
        return {entry["name"]: entry["version"] for entry in yaml.safe_load(handle)["collections"]}


def installed_manifest(fqcn):
    """collection_info of ``fqcn`` as the venv has it (ansible_collections on sys.path)."""
    namespace, name = fqcn.split(".")
    try:
        module = importlib.import_module("ansible_collections.%s.%s" % (namespace, name))
    except ImportError:
        return {}
    for base in getattr(module, "__path__", []):
        path = os.path.join(base, "MANIFEST.json")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)["collection_info"]
    return {}
