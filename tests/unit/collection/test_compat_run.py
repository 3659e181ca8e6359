# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""make compat (tests/compat/run): each minor on the Python its requirements
file names, found or failed with what to install; the play step's container
named by NEXUS_COMPAT_SANDBOX."""

from __future__ import annotations

import glob
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RUN = os.path.join(ROOT, "tests", "compat", "run")
PYTHON_LINE = re.compile(r"^#\s*python:\s*(\S+)\s*$", re.M)


def declared_python(path):
    with open(path) as handle:
        found = PYTHON_LINE.findall(handle.read())
    return found[0] if found else "3.11"


def test_ansible_core_2_20_and_later_run_on_python_3_12_the_older_on_3_11():
    files = glob.glob(os.path.join(ROOT, "tests", "compat", "requirements-*.txt"))
    pythons = {os.path.basename(f)[len("requirements-"):-len(".txt")]: declared_python(f) for f in files}
    for minor, python in pythons.items():
        expected = "3.12" if tuple(int(p) for p in minor.split(".")) >= (2, 20) else "3.11"
        assert python == expected, (minor, python)
    assert {"2.20", "2.21"} <= set(pythons)


def executable(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def checkout(tmp_path):
    """A copy of tests/compat/run in a checkout of its own, with a requirements
    file for ansible-core 9.99 on Python 3.99 and the other collections in
    place (the run copies them from the main venv otherwise)."""
    (tmp_path / "tests" / "compat").mkdir(parents=True)
    shutil.copy(RUN, str(tmp_path / "tests" / "compat" / "run"))
    (tmp_path / "tests" / "compat" / "requirements-9.99.txt").write_text("# python: 3.99\n")
    for name in ("community/docker", "ansible/posix"):
        (tmp_path / ".cache" / "compat" / "collections" / "ansible_collections" / name).mkdir(parents=True)
    (tmp_path / "bin").mkdir()
    return tmp_path


def run(checkout, **env):
    env = dict({k: v for k, v in os.environ.items() if not k.startswith("NEXUS_COMPAT")},
               PATH="%s:/usr/bin:/bin" % (checkout / "bin"), **env)
    proc = subprocess.run([str(checkout / "tests" / "compat" / "run"), "--steps", "syntax", "9.99"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60, check=False)
    return proc.returncode, proc.stdout


def test_no_interpreter_for_a_minor_fails_it_naming_what_to_install(checkout):
    # A pyenv shim without that version selected is on PATH: it does not run, so it does not count.
    executable(checkout / "bin" / "python3.99", "#!/bin/sh\necho 'pyenv: python3.99: command not found' >&2\nexit 127\n")
    # No pyenv on PATH: its default root is looked in all the same (here an empty one).
    rc, out = run(checkout, PYENV_ROOT=str(checkout / "pyenv"))
    assert rc == 1
    assert out.splitlines()[0] == (
        "9.99   venv    FAIL: ansible-core 9.99 needs Python 3.99 (tests/compat/requirements-9.99.txt): no Python 3.99 "
        "found (tried $NEXUS_COMPAT_PYTHON_3_99, python3.99 on PATH, pyenv's versions under %s): install Python 3.99 "
        "(Debian bookworm packages 3.11 only: pyenv install 3.99, or a python3.99 on PATH) or set "
        "NEXUS_COMPAT_PYTHON_3_99 to its path" % (checkout / "pyenv")), out


def test_an_interpreter_named_in_the_environment_must_run(checkout):
    rc, out = run(checkout, NEXUS_COMPAT_PYTHON_3_99="/bin/false")
    assert rc == 1
    assert out.splitlines()[0] == ("9.99   venv    FAIL: ansible-core 9.99 needs Python 3.99 "
                                   "(tests/compat/requirements-9.99.txt): NEXUS_COMPAT_PYTHON_3_99=/bin/false is not a "
                                   "Python 3.99 that runs"), out


def test_a_python_line_that_is_not_a_minor_is_named(checkout):
    (checkout / "tests" / "compat" / "requirements-9.99.txt").write_text("# python: three\n")
    rc, out = run(checkout)
    assert rc == 1
    assert out.splitlines()[0] == ("9.99   venv    FAIL: tests/compat/requirements-9.99.txt: "
                                   "'# python: three' (expected a Python minor such as 3.12)"), out


def test_pyenv_newest_version_of_the_minor_is_taken(checkout, tmp_path):
    # A stand-in interpreter that answers every call and records how it was
    # called: the run takes it, then fails to make a venv with it.
    used = tmp_path / "used"
    fake = "#!/bin/sh\necho \"$0 $*\" >> %s\nexit 0\n" % used
    for version in ("3.99.1", "3.99.10", "3.98.0"):
        (tmp_path / "pyenv-root" / "versions" / version / "bin").mkdir(parents=True)
        executable(tmp_path / "pyenv-root" / "versions" / version / "bin" / ("python" + version[:4]), fake)
    executable(checkout / "bin" / "pyenv", "#!/bin/sh\n[ \"$1\" = root ] && echo %s\n" % (tmp_path / "pyenv-root"))
    rc, out = run(checkout)
    assert rc == 1
    assert "9.99   venv    FAIL (see %s)" % (checkout / ".cache" / "compat" / "9.99" / "pip.log") in out.splitlines(), out
    assert used.read_text().splitlines()[-1] == "%s -m venv %s" % (
        tmp_path / "pyenv-root" / "versions" / "3.99.10" / "bin" / "python3.99", checkout / ".cache" / "compat" / "9.99" / "venv")


@pytest.mark.parametrize("name, expected", [(None, "nexus-cos-compat"), ("nexus-cos-compat2", "nexus-cos-compat2")])
def test_the_play_steps_container_is_nexus_compat_sandbox(name, expected):
    env = dict({k: v for k, v in os.environ.items() if k != "NEXUS_COMPAT_SANDBOX"},
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    if name:
        env["NEXUS_COMPAT_SANDBOX"] = name
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "all", "-i",
                           os.path.join(ROOT, "tests", "compat", "inventory.yml"), "-m", "ansible.builtin.debug",
                           "-a", "msg=container={{ ansible_host }}"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout
    assert re.search(r"\bcontainer=%s\b" % re.escape(expected), proc.stdout), proc.stdout
