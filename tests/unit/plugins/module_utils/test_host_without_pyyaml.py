# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""A VPS without python3-yaml: the host-side code imports and reports, never
a traceback. PyYAML is the host code's one library outside the standard
library (psycopg2 is not imported at all: the database check uses psql);
``sys.modules["yaml"] = None`` makes ``import yaml`` fail as it does there."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import module_failed, module_succeeded
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

PACKAGE = "ansible_collections.nexus_cos.launch.plugins"

pytestmark = pytest.mark.usefixtures("module_exits")


def host_side_modules():
    """Every module and module_util, by import name."""
    names = []
    for folder in ("modules", "module_utils"):
        top = os.path.join(ROOT, "plugins", folder)
        for base, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    rel = os.path.relpath(os.path.join(base, name), os.path.join(ROOT, "plugins"))
                    dotted = rel[:-3].replace(os.sep, ".")
                    names.append("%s.%s" % (PACKAGE, dotted[:-len(".__init__")] if dotted.endswith(".__init__")
                                            else dotted))
    return names


def without_yaml(monkeypatch, *names):
    """Fresh imports of ``names`` (and what they import from the collection)
    with PyYAML missing; monkeypatch puts the old modules back."""
    monkeypatch.setitem(sys.modules, "yaml", None)
    for loaded in [n for n in sys.modules if n.startswith(PACKAGE + ".")]:
        monkeypatch.delitem(sys.modules, loaded)
    return [importlib.import_module(name) for name in names]


def test_every_host_module_imports_without_pyyaml():
    names = host_side_modules()
    assert "%s.modules.pf_setting" % PACKAGE in names and "%s.module_utils.documents" % PACKAGE in names
    code = ("import importlib, json, sys\n"
            "sys.modules['yaml'] = None\n"
            "failed = {}\n"
            "for name in json.loads(sys.argv[1]):\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "    except Exception as exc:\n"
            "        failed[name] = '%s: %s' % (type(exc).__name__, exc)\n"
            "print(json.dumps(failed))\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".collections"))
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(names)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {}


def test_pf_setting_says_which_package_to_install(monkeypatch, tmp_path):
    pf_setting, = without_yaml(monkeypatch, "%s.modules.pf_setting" % PACKAGE)
    path = tmp_path / "exchange.yaml"
    path.write_text("exchange:\n  enabled: false\n")
    result = module_failed(pf_setting.main, {"path": str(path), "settings": {"exchange.enabled": True}})
    assert result["msg"] == missing_required_lib("PyYAML (python3-yaml)")
    assert result["msg"].startswith("Failed to import the required Python library (PyYAML (python3-yaml)) on ")
    assert "ModuleNotFoundError" in result["exception"] or "ImportError" in result["exception"]
    assert path.read_text() == "exchange:\n  enabled: false\n"


def test_activation_info_reports_each_pf_file_and_still_reads_the_flags(monkeypatch, tmp_path):
    activation_info, = without_yaml(monkeypatch, "%s.modules.activation_info" % PACKAGE)
    pf_dir = tmp_path / "pfs"
    pf_dir.mkdir()
    for name in activation_info.activation_facts.PF_FILES:
        (pf_dir / name).write_text("enabled: false\n")
    store = tmp_path / "feature-flags.json"
    store.write_text(json.dumps({"feature_flags": {}}))
    result = module_succeeded(activation_info.main, {"audit_dir": str(tmp_path / "audit"), "flag_store": str(store),
                                                     "pf_dir": str(pf_dir)})
    assert result["pfs"] and all(
        entry["document"] is None and entry["error"] == "%s: cannot be parsed: PyYAML (python3-yaml) is not "
        "installed on this host (apt-get install python3-yaml)" % entry["path"] for entry in result["pfs"].values()), result["pfs"]
    assert result["flag_store"]["error"] is None, result["flag_store"]


def test_kill_switch_leaves_the_pf_files_and_names_the_package(monkeypatch):
    emergency, = without_yaml(monkeypatch, "%s.module_utils.activation.emergency" % PACKAGE)
    assert emergency.pf_editing_available() == (
        False, "PyYAML (python3-yaml) is not installed on this host (apt-get install python3-yaml)")
