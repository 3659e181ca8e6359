# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""tests/collections/install.py: only the requested collections out of the
bundle's wheel, at their pinned versions, their dependencies requested too,
recorded, and a second run does nothing. The download is replaced by a
small wheel made here (pip's hash check is pip's)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import zipfile

import pytest

from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT


@pytest.fixture
def install():
    path = os.path.join(ROOT, "tests", "collections", "install.py")
    loader = importlib.machinery.SourceFileLoader("collections_install", path)
    spec = importlib.util.spec_from_loader("collections_install", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def fake_wheel(path, collections):
    with zipfile.ZipFile(path, "w") as archive:
        for fqcn, (version, deps) in collections.items():
            prefix = "ansible_collections/%s/" % fqcn.replace(".", "/")
            manifest = {"collection_info": {"version": version, "dependencies": deps}}
            archive.writestr(prefix + "MANIFEST.json", json.dumps(manifest))
            archive.writestr(prefix + "plugins/connection/x.py", "# %s\n" % fqcn)
    return str(path)


WHEEL = {"community.docker": ("4.8.5", {"community.library_inventory_filtering_v1": ">=1.0.0"}),
         "community.library_inventory_filtering_v1": ("1.1.5", {}),
         "ansible.posix": ("2.1.0", {}), "community.general": ("11.4.2", {})}


def requirements(tmp_path, collections):
    path = tmp_path / "requirements.yml"
    path.write_text("collections:\n" + "".join('  - name: %s\n    version: "%s"\n' % item for item in collections.items()))
    return str(path)


def run(install, tmp_path, monkeypatch, collections):
    downloads = []
    made = fake_wheel(tmp_path / "ansible-12.3.0-py3-none-any.whl", WHEEL)
    monkeypatch.setattr(install, "download", lambda bundle, sha256, into: downloads.append(bundle) or made)
    rc = install.main(["--requirements", requirements(tmp_path, collections), "--bundle", "ansible==12.3.0",
                       "--sha256", "0" * 64, "--dest", str(tmp_path / "site")])
    return rc, downloads


def test_only_the_requested_collections_are_taken_recorded_and_not_taken_twice(install, tmp_path, monkeypatch, capsys):
    wanted = {"community.docker": "4.8.5", "community.library_inventory_filtering_v1": "1.1.5", "ansible.posix": "2.1.0"}
    rc, downloads = run(install, tmp_path, monkeypatch, wanted)
    assert rc == 0 and downloads == ["ansible==12.3.0"]
    root = tmp_path / "site" / "ansible_collections"
    assert sorted(os.listdir(root / "community")) == ["docker", "library_inventory_filtering_v1"]
    assert (root / "ansible" / "posix" / "plugins" / "connection" / "x.py").is_file()
    assert json.loads((root / ".test-collections.json").read_text())["collections"] == wanted
    rc, downloads = run(install, tmp_path, monkeypatch, wanted)
    assert rc == 0 and downloads == []
    assert "test collections already installed" in capsys.readouterr().out


@pytest.mark.parametrize("collections, says", [
    ({"community.docker": "4.8.5"}, "community.docker 4.8.5 depends on community.library_inventory_filtering_v1: "
                                    "add it to tests/requirements.yml"),
    ({"ansible.posix": "2.0.0"}, "the wheel has ansible.posix 2.1.0, tests/requirements.yml pins 2.0.0"),
    ({"ansible.posix": ">=2.0.0"}, "collections[0] (ansible.posix): version must be one exact version"),
    ({"ansible.utils": "6.0.0"}, "has no collection ansible.utils"),
])
def test_what_cannot_be_taken_as_asked_is_refused_and_nothing_installed(install, tmp_path, monkeypatch, capsys,
                                                                        collections, says):
    rc = run(install, tmp_path, monkeypatch, collections)[0]
    assert rc == 1
    assert says in capsys.readouterr().err
    assert not (tmp_path / "site" / "ansible_collections" / ".test-collections.json").exists()
