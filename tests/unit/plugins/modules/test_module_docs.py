"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse the way
ansible-doc reads them (doc fragments included), and every option a module
accepts is documented."""

from __future__ import annotations

import glob
import json
import os
import subprocess

from ansible_collections.nexus_cos.launch.tests.unit.utils.collection_build import tool, tool_env
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))
                 if not p.endswith("__init__.py"))


def ansible_doc():
    env = tool_env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run([tool("ansible-doc"), "--json", "-t", "module"] + ["nexus_cos.launch." + m for m in MODULES],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_module_is_documented():
    """One ansible-doc run for them all (ansible-test runs each test in a
    process of its own, so a fixture shared by tests would run it per test)."""
    docs = ansible_doc()
    problems = []
    for module in MODULES:
        entry = docs.get("nexus_cos.launch." + module)
        if entry is None:
            problems.append("%s: ansible-doc returned nothing" % module)
            continue
        problems += ["%s has no %s" % (module, what) for what, present in (
            ("short_description", entry["doc"].get("short_description")), ("description", entry["doc"].get("description")),
            ("EXAMPLES", entry["examples"]), ("RETURN", entry["return"] is not None)) if not present]
    assert MODULES and problems == []
