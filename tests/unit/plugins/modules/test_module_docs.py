"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse the way
ansible-doc reads them (doc fragments included), and every option a module
accepts is documented."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))
                 if not p.endswith("__init__.py"))


@pytest.fixture(scope="module")
def docs():
    ansible_doc = shutil.which("ansible-doc", path=os.path.dirname(sys.executable)) or shutil.which("ansible-doc")
    if not ansible_doc:
        pytest.fail("ansible-doc not found next to %s or on PATH" % sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run([ansible_doc, "--json", "-t", "module"] + ["nexus_cos.launch." + m for m in MODULES],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("module", MODULES)
def test_module_is_documented(docs, module):
    entry = docs["nexus_cos.launch." + module]
    assert entry["doc"]["short_description"]
    assert entry["doc"]["description"]
    assert entry["examples"], "%s has no EXAMPLES" % module
    assert entry["return"] is not None, "%s has no RETURN" % module
