# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""ansible-navigator.yml names the collection's execution environment (the
tag execution-environment.yml builds, galaxy.yml's version), never pulls it
from a public registry, and what navigator leaves in the checkout is ignored
by git and kept out of the tarball."""

from __future__ import annotations

import fnmatch
import os

import yaml

from ansible_collections.nexus_cos.launch.tests.unit.utils.collection_build import ROOT, galaxy_info


def settings():
    with open(os.path.join(ROOT, "ansible-navigator.yml")) as handle:
        return yaml.safe_load(handle)["ansible-navigator"]


def test_navigator_runs_the_image_execution_environment_yml_builds():
    ee = settings()["execution-environment"]
    image = "nexus-cos-launch-ee:%s" % galaxy_info()["version"]
    assert ee["enabled"] is True and ee["image"] == image
    with open(os.path.join(ROOT, "execution-environment.yml")) as handle:
        assert "podman build -t %s " % image in handle.read()
    assert ee["pull"]["policy"] in ("never", "missing")


def test_what_navigator_leaves_is_ignored_and_not_shipped():
    with open(os.path.join(ROOT, ".gitignore")) as handle:
        ignored = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    build_ignore = galaxy_info()["build_ignore"]
    for left in ("ansible-navigator.log", "playbooks/phase4-artifact-2026-12-01T10:00:00.000000+00:00.json"):
        assert any(fnmatch.fnmatch(os.path.basename(left), pattern) for pattern in ignored), left
        assert any(fnmatch.fnmatch(left, pattern) for pattern in build_ignore), left      # as ansible-galaxy matches
    assert "ansible-navigator.yml" in build_ignore       # the checkout's settings, not the collection's
