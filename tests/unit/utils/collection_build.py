# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The collection as it ships: `ansible-galaxy collection build` of this
checkout, and the ansible tools of the running interpreter, for the tests of
the tarball and of the execution environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import yaml
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT


def tool(name):
    """Path of an ansible command line tool: beside this interpreter first
    (the venv), then on PATH."""
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    if not found:
        raise AssertionError("%s not found next to %s or on PATH; make venv installs it" % (name, sys.executable))
    return found


def tool_env(**extra):
    """The environment for an ansible command line tool a test runs: this one
    less PYTHONPATH, which ansible-test units points at a stub of ansible
    (module_utils alone) for the tests of modules and module_utils."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(extra)
    return env


def isolated_env(collections_path):
    """An environment in which ansible sees only ``collections_path``: not the
    checkout's ansible.cfg, nor the checkout found through sys.path (make
    venv puts .collections on it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_NOCOLOR="1")
    return env


def galaxy_info():
    with open(os.path.join(ROOT, "galaxy.yml")) as f:
        return yaml.safe_load(f)


def build_collection(out_dir):
    """Build the tarball into ``out_dir`` and return its path."""
    info = galaxy_info()
    proc = subprocess.run([tool("ansible-galaxy"), "collection", "build", "--force", "--output-path", out_dir, ROOT],
                          capture_output=True, text=True, cwd=out_dir, env=isolated_env(out_dir), check=False)
    assert proc.returncode == 0, "ansible-galaxy collection build failed:\n%s%s" % (proc.stdout, proc.stderr)
    path = os.path.join(out_dir, "%s-%s-%s.tar.gz" % (info["namespace"], info["name"], info["version"]))
    assert os.path.isfile(path), "the build did not write %s:\n%s" % (path, proc.stdout)
    return path


def pinned_requirements(name="requirements.txt"):
    """{name: version} of the checkout's requirements.txt, or of another pip
    file of its root (constraints.txt): every line pinned."""
    pins = {}
    with open(os.path.join(ROOT, name)) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            match = re.match(r"^([A-Za-z0-9._-]+)==([^\s;]+)$", line)
            assert match, "%s: %r is not pinned as NAME==VERSION" % (name, line)
            pins[match.group(1).lower()] = match.group(2)
    return pins


def requirement_lines(path):
    """The requirement lines of a pip or bindep file, comments dropped."""
    with open(path) as f:
        return [line.split("#", 1)[0].strip() for line in f if line.split("#", 1)[0].strip()]
