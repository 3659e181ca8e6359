# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""execution-environment.yml, through `ansible-builder create` (no image is
built: there is no registry here): the build context holds a Containerfile on
the configured base image, the pinned ansible-core and ansible-runner, and the
collection's tarball; installed the way the Containerfile's galaxy stage does
and introspected with the context's own introspect.py (the script the builder
stage runs), it yields exactly the collection's Python and system needs."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest
import yaml

from ansible_collections.nexus_cos.launch.tests.unit.utils.collection_build import (
    ROOT, build_collection, galaxy_info, isolated_env, pinned_requirements, requirement_lines, tool)

EE_FILE = os.path.join(ROOT, "execution-environment.yml")


@pytest.fixture(scope="module")
def definition():
    with open(EE_FILE) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def context(tmp_path_factory, definition):
    """`ansible-builder create` of a copy of execution-environment.yml beside a
    fresh build of the collection, where the definition expects it."""
    work = str(tmp_path_factory.mktemp("ee"))
    shutil.copy(EE_FILE, work)
    tarball_src = definition["additional_build_files"][0]["src"]
    os.makedirs(os.path.join(work, os.path.dirname(tarball_src)))
    built = build_collection(os.path.join(work, os.path.dirname(tarball_src)))
    ctx = os.path.join(work, "context")
    proc = subprocess.run([sys.executable, "-m", "ansible_builder", "create", "-f",
                           os.path.join(work, "execution-environment.yml"), "-c", ctx, "-v3"],
                          capture_output=True, text=True, cwd=work, check=False)
    assert proc.returncode == 0, "ansible-builder create failed:\n%s%s" % (proc.stdout, proc.stderr)
    assert "No matches" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return {"dir": ctx, "built": built, "work": work}


def _containerfile(context):
    path = os.path.join(context["dir"], "Containerfile")
    assert os.path.isfile(path), "ansible-builder create wrote no Containerfile: %s" % os.listdir(context["dir"])
    with open(path) as f:
        return f.read().splitlines()


def test_the_containerfile_builds_on_the_configured_base_image(context, definition):
    lines = _containerfile(context)
    assert 'ARG EE_BASE_IMAGE="%s"' % definition["images"]["base_image"]["name"] in lines
    assert "FROM $EE_BASE_IMAGE AS base" in lines
    python = definition["dependencies"]["python_interpreter"]
    assert 'ARG PYCMD="%s"' % python["python_path"] in lines
    assert 'ARG PYPKG="%s"' % python["package_system"] in lines


def test_the_image_gets_the_ansible_core_and_runner_pinned_in_requirements_txt(context):
    pins = pinned_requirements()
    refs = [line for line in _containerfile(context) if line.startswith("ARG ANSIBLE_INSTALL_REFS=")]
    assert refs == ['ARG ANSIBLE_INSTALL_REFS="ansible-core==%s ansible-runner==%s"'
                    % (pins["ansible-core"], pins["ansible-runner"])], refs


def test_the_context_carries_the_built_collection(context):
    info = galaxy_info()
    name = "%s-%s-%s.tar.gz" % (info["namespace"], info["name"], info["version"])
    copied = os.path.join(context["dir"], "_build", "collections", name)
    assert os.path.isfile(copied), (
        "the build context lacks collections/%s: execution-environment.yml names another version than "
        "galaxy.yml's %s" % (name, info["version"]))
    assert filecmp.cmp(copied, context["built"], shallow=False)
    with open(os.path.join(context["dir"], "_build", "requirements.yml")) as f:
        galaxy = yaml.safe_load(f)
    assert galaxy == {"collections": [{"name": "collections/" + name, "type": "file"}]}


def test_the_collection_brings_its_python_and_system_needs_into_the_image(context, tmp_path):
    build = os.path.join(context["dir"], "_build")
    collections = str(tmp_path / "collections")
    # The galaxy stage: WORKDIR /build (the context's _build), -r requirements.yml.
    # --no-deps: the dependencies come from Galaxy, out of reach here.
    install = subprocess.run([tool("ansible-galaxy"), "collection", "install", "--no-deps", "-r", "requirements.yml",
                              "--collections-path", collections],
                             capture_output=True, text=True, cwd=build, env=isolated_env(collections), check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    info = galaxy_info()
    assert os.path.isfile(os.path.join(collections, "ansible_collections", info["namespace"], info["name"],
                                       "MANIFEST.json")), install.stdout
    # The builder stage: introspect.py over the installed collections.
    pip_out, bindep_out = str(tmp_path / "requirements.txt"), str(tmp_path / "bindep.txt")
    proc = subprocess.run([sys.executable, os.path.join(build, "scripts", "introspect.py"), "introspect", collections,
                           "--write-pip", pip_out, "--write-bindep", bindep_out],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    origin = "# from collection %s.%s" % (info["namespace"], info["name"])
    for ours, written in ((os.path.join(ROOT, "meta", "ee-requirements.txt"), pip_out),
                          (os.path.join(ROOT, "meta", "ee-bindep.txt"), bindep_out)):
        with open(written) as f:
            lines = [line.strip() for line in f if line.strip()]
        expected = ["%s  %s" % (line, origin) for line in requirement_lines(ours)]
        assert expected and lines == expected, "%s: the image would get %s; expected %s" % (
            os.path.basename(ours), lines, expected)


EE_PYTHON = "3.12"


def test_the_image_runs_python_3_12(definition):
    """ansible-core 2.20 and later need 3.12; the image is ready for them."""
    python = definition["dependencies"]["python_interpreter"]
    assert python == {"package_system": "python" + EE_PYTHON, "python_path": "/usr/bin/python" + EE_PYTHON}, (
        "execution-environment.yml: dependencies.python_interpreter is %r, expected python%s" % (python, EE_PYTHON))


def test_every_python_package_of_the_image_supports_its_python():
    """ansible-core, ansible-runner and meta/ee-requirements.txt, with what they
    pull in (their markers read for the image's Python), as the venv has them:
    each one's Requires-Python admits it."""
    import importlib.metadata
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    top = ["ansible-core", "ansible-runner"] + [Requirement(line).name for line in
                                                requirement_lines(os.path.join(ROOT, "meta", "ee-requirements.txt"))]
    seen, todo, refused = set(), list(top), []
    while todo:
        name = todo.pop()
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        # The venv's own metadata: ansible-test puts a bare ansible-core
        # egg-info (no requirements) ahead of it on sys.path.
        dist = next(iter(importlib.metadata.distributions(name=name, path=[sysconfig.get_paths()["purelib"]])), None) \
            or importlib.metadata.distribution(name)
        requires_python = dist.metadata.get("Requires-Python")
        if requires_python and EE_PYTHON + ".0" not in SpecifierSet(requires_python):
            refused.append("%s %s (Requires-Python %s)" % (name, dist.version, requires_python))
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"python_version": EE_PYTHON, "extra": ""}):
                todo.append(req.name)
    assert {"ansible-core", "ansible-runner", "libpass", "jinja2", "cryptography"} <= seen, seen
    assert not refused, "not for Python %s: %s" % (EE_PYTHON, refused)
