# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""docs/build_site (make docs) builds the HTML site offline: a page for every
module and role, every role entry point on its role's page, the guides, the
playbooks, and
no page that says its documentation was malformed."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import yaml
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

SITE = os.path.join(ROOT, "docs", "_build", "html")


def build():
    """One build for the whole file: the site is written in one place, and
    ansible-test runs tests in parallel workers, so the checks of it run in
    one test rather than one build per worker racing another."""
    env = dict(os.environ, NEXUS_VENV_BIN=os.path.dirname(sys.executable))
    proc = subprocess.run([os.path.join(ROOT, "docs", "build_site")], capture_output=True, text=True, env=env,
                          check=False, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def page(name):
    with open(os.path.join(SITE, name)) as handle:
        return handle.read()


def test_the_site_builds_offline_with_every_page_and_no_malformed_one():
    built = build()
    site_has_a_page_for_every_module_and_role(built)
    every_role_entry_point_is_on_its_role_page()
    the_guides_are_in_the_site_and_no_page_is_malformed()


def site_has_a_page_for_every_module_and_role(built):
    modules = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))}
    roles = {os.path.basename(os.path.dirname(os.path.dirname(p)))
             for p in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))}
    pages = set(os.listdir(SITE))
    assert not {m + "_module.html" for m in modules} - pages
    assert not {r + "_role.html" for r in roles} - pages
    assert "docs site: docs/_build/html/index.html" in built


def every_role_entry_point_is_on_its_role_page():
    for spec_path in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")):
        role = spec_path.split(os.sep)[-3]
        with open(spec_path) as handle:
            entry_points = yaml.safe_load(handle)["argument_specs"]
        text = page(role + "_role.html")
        for name in entry_points:
            assert "Entry point <code class=\"docutils literal notranslate\"><span class=\"pre\">%s</span></code>" % name \
                in text, (role, name)


def the_guides_are_in_the_site_and_no_page_is_malformed():
    index = page("index.html")
    for guide in ("guides/README.html", "guides/CONTRIBUTING.html", "guides/docs/activation.html",
                  "guides/docs/rollback.html", "guides/docs/playbooks.html"):
        assert 'href="%s"' % guide in index, guide
        assert os.path.isfile(os.path.join(SITE, guide))
    # The playbooks, a section each, from their headers (docs/playbooks.md).
    playbooks = page("guides/docs/playbooks.html")
    for path in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")):
        assert "nexus_cos.launch.%s" % os.path.basename(path)[:-len(".yml")] in playbooks, path
    malformed = [name for name in os.listdir(SITE) if name.endswith(".html") and "malformed" in page(name)]
    assert not malformed
