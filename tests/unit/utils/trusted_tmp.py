"""A temporary directory root alone controls, for tests of what must be
root's alone (trusted_path): pytest's tmp_path lies under /tmp, which every
user may write, so the rule rightly refuses it. Needs root; tests using it
skip otherwise."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import trusted_path

BASES = ("/run", "/var/lib", "/opt", "/root")


def trusted_base():
    for base in BASES:
        if os.path.isdir(base) and trusted_path.path_problem(base) is None and os.access(base, os.W_OK):
            return base
    return None


@pytest.fixture
def trusted_tmp():
    """A fresh directory (0700, root's) under a base root alone controls."""
    base = trusted_base() if os.geteuid() == 0 else None
    if base is None:
        pytest.skip("needs root and a directory only root can write (%s)" % ", ".join(BASES))
    path = tempfile.mkdtemp(prefix="nexus-cos-test-", dir=base)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
