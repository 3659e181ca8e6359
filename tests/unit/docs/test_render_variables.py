# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""docs/render_variables.py: the Markdown role reference (docs/variables.md and
each role's README.md) comes from the argument specs alone, reads as Markdown
(no raw C(...) markup) and covers every entry point."""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil

import pytest
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

SCRIPT = os.path.join(ROOT, "docs", "render_variables.py")
ROLES = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
               for p in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")))
# Ansible markup left as it is written: C(...), M(...), O(...), ...
RAW_MARKUP = re.compile(r"\b(?:C|M|I|B|U|L|O|V|E|RV|P)\([^)]")


def load_renderer(root=ROOT):
    spec = importlib.util.spec_from_file_location("render_variables_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ROOT = root
    module.TARGET = os.path.join(root, "docs", "variables.md")
    return module


@pytest.fixture(scope="module")
def renderer():
    return load_renderer()


@pytest.fixture(scope="module")
def generated(renderer):
    return renderer.outputs()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_readme_is_the_one_its_argument_spec_renders(generated, role):
    path = os.path.join(ROOT, "roles", role, "README.md")
    assert os.path.isfile(path), "roles/%s/README.md is missing: run make docs" % role
    with open(path) as handle:
        assert handle.read() == generated[path], "roles/%s/README.md is stale: run make docs" % role


def test_the_generated_reference_has_no_raw_markup(generated):
    leaks = {os.path.relpath(path, ROOT): RAW_MARKUP.findall(text) for path, text in generated.items()}
    assert not {path: found for path, found in leaks.items() if found}


def test_markup_becomes_markdown(renderer):
    assert renderer.markdown("Give C(--force-reason) to M(nexus_cos.launch.alert), see L(the guide,https://example.org)") == [
        "Give `--force-reason` to `nexus_cos.launch.alert`, see [the guide](https://example.org)"]
    assert renderer.markdown(["I(one)", "O(a=b) and B(two)"]) == ["*one*", "`a=b` and **two**"]


def test_every_entry_point_is_documented(generated, renderer):
    variables = generated[os.path.join(ROOT, "docs", "variables.md")]
    for role, entry_points in renderer.load_specs().items():
        readme = generated[os.path.join(ROOT, "roles", role, "README.md")]
        for name, spec in entry_points.items():
            assert "## Entry point `%s`" % name in readme, (role, name)
            for option in spec.get("options") or {}:
                assert "| `%s` |" % option in readme and "| `%s` |" % option in variables, (role, name, option)
    assert "tasks_from: fleet_reread" in generated[os.path.join(ROOT, "roles", "launch_context", "README.md")]


def test_check_names_a_stale_readme_and_passes_once_rendered(tmp_path, capsys):
    role = tmp_path / "roles" / "deploy_lock"
    (role / "meta").mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "roles", "deploy_lock", "meta", "argument_specs.yml"), role / "meta")
    (tmp_path / "docs").mkdir()
    (tmp_path / "meta").mkdir()
    shutil.copy(os.path.join(ROOT, "meta", "runtime.yml"), tmp_path / "meta")
    shutil.copy(os.path.join(ROOT, "galaxy.yml"), tmp_path)
    renderer = load_renderer(str(tmp_path))
    assert renderer.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "roles/deploy_lock/README.md is stale" in err and "roles/deploy_lock/meta/main.yml is stale" in err
    assert renderer.main([]) == 0
    assert renderer.main(["--check"]) == 0
    (role / "README.md").write_text((role / "README.md").read_text() + "hand edit\n")
    assert renderer.main(["--check"]) == 1
    assert capsys.readouterr().err == "roles/deploy_lock/README.md is stale: run make docs (python3 docs/render_variables.py)\n"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_meta_is_the_one_its_argument_spec_renders(generated, role):
    """Galaxy shows a role by its meta/main.yml galaxy_info: the spec's short description."""
    path = os.path.join(ROOT, "roles", role, "meta", "main.yml")
    assert os.path.isfile(path), "roles/%s/meta/main.yml is missing: run make docs" % role
    with open(path) as handle:
        assert handle.read() == generated[path], "roles/%s/meta/main.yml is stale: run make docs" % role


def test_the_lowest_ansible_core_comes_from_requires_ansible(tmp_path):
    (tmp_path / "meta").mkdir()
    renderer = load_renderer(str(tmp_path))
    (tmp_path / "meta" / "runtime.yml").write_text('requires_ansible: ">=2.16.0,<2.21"\n')
    assert renderer.min_ansible_version() == "2.16.0"
    (tmp_path / "meta" / "runtime.yml").write_text('requires_ansible: "<2.21"\n')
    with pytest.raises(ValueError, match=r"meta/runtime.yml: requires_ansible '<2.21' has no single '>=VERSION' bound"):
        renderer.min_ansible_version()


PLAYBOOKS = sorted(os.path.basename(p)[:-len(".yml")] for p in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))


def test_the_playbooks_page_is_the_one_their_headers_render(generated):
    path = os.path.join(ROOT, "docs", "playbooks.md")
    assert os.path.isfile(path), "docs/playbooks.md is missing: run make docs"
    with open(path) as handle:
        assert handle.read() == generated[path], "docs/playbooks.md is stale: run make docs"


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_every_playbook_has_its_section_with_its_header_commands(generated, renderer, name):
    page = generated[os.path.join(ROOT, "docs", "playbooks.md")]
    assert "## `nexus_cos.launch.%s`" % name in page
    play, header = renderer.playbook_header(os.path.join(ROOT, "playbooks", name + ".yml"))
    assert header, "playbooks/%s.yml has no header comment to document it" % name
    commands = [line.rstrip() for line in header if line.strip().startswith(("ansible-playbook", "nexusctl"))]
    assert commands, "playbooks/%s.yml's header shows no command" % name
    for command in commands:
        assert "\n%s\n" % command in page, (name, command)


def test_a_header_renders_prose_as_paragraphs_and_commands_as_code(renderer):
    lines = renderer.render_playbook("demo", {"name": "Demo", "hosts": "nexus_vps", "become": True, "tasks": [
        {"ansible.builtin.import_role": {"name": "nexus_cos.launch.deploy_lock"}}]}, [
        "What it does, in", "two lines with <stamp> and C(raw).", "", "  ansible-playbook playbooks/demo.yml -i INV",
        "rollback_run       the snapshot's stamp", "After."])
    assert lines == [
        "## `nexus_cos.launch.demo`", "", "**Demo**: `playbooks/demo.yml`, hosts `nexus_vps`, as root (become).", "",
        "What it does, in two lines with \\<stamp\\> and C(raw).", "",
        "```text", "  ansible-playbook playbooks/demo.yml -i INV", "rollback_run       the snapshot's stamp", "```", "",
        "After.", "", "Roles: `nexus_cos.launch.deploy_lock` (their variables: [the role reference](variables.md)).", ""]
