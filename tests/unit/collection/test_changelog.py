# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""CHANGELOG.md is what antsibull-changelog generates from changelogs/ (the
releases in changelog.yaml), never a hand edit that drifts from it; the
fragments and the releases pass its lint."""

from __future__ import annotations

import os
import shutil
import subprocess

from ansible_collections.nexus_cos.launch.tests.unit.utils.collection_build import ROOT, galaxy_info, tool


def _changelog_tool(args, cwd):
    return subprocess.run([tool("antsibull-changelog")] + args, cwd=cwd, capture_output=True, text=True, check=False)


def test_changelog_md_is_what_antsibull_changelog_generates(tmp_path):
    shutil.copy(os.path.join(ROOT, "galaxy.yml"), tmp_path)
    shutil.copytree(os.path.join(ROOT, "changelogs"), tmp_path / "changelogs",
                    ignore=shutil.ignore_patterns(".plugin-cache.yaml"))
    proc = _changelog_tool(["generate"], str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(os.path.join(ROOT, "CHANGELOG.md")) as handle:
        assert handle.read() == (tmp_path / "CHANGELOG.md").read_text(), (
            "CHANGELOG.md is not what antsibull-changelog generate writes: add a fragment to changelogs/fragments/ "
            "instead of editing it (CONTRIBUTING.md, Changelog fragments), then run antsibull-changelog generate")


def test_the_fragments_and_the_releases_pass_antsibull_changelog_lint():
    proc = _changelog_tool(["lint"], ROOT)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_the_newest_release_in_the_changelog_is_not_newer_than_galaxy_yml():
    import yaml
    with open(os.path.join(ROOT, "changelogs", "changelog.yaml")) as handle:
        releases = yaml.safe_load(handle)["releases"]

    def key(version):
        return tuple(int(part) for part in version.split("."))
    newest = max(releases, key=key)
    assert key(newest) <= key(galaxy_info()["version"]), (
        "changelogs/changelog.yaml has release %s, galaxy.yml version %s" % (newest, galaxy_info()["version"]))
