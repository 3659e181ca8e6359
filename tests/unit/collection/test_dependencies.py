# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The checkout's Python dependencies: constraints.txt pins the whole venv
in agreement with requirements.txt (make venv installs both), and the venv it
gives imports what the collection uses without a warning."""

from __future__ import annotations

import subprocess
import sys

import pytest
from packaging.utils import canonicalize_name

from ansible_collections.nexus_cos.launch.tests.unit.utils.collection_build import pinned_requirements


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
