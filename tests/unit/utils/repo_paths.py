# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Where the tests find the checkout and what stands beside it, in one place."""

from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONFIG_FIXTURES = os.path.join(ROOT, "tests", "fixtures", "config")


def _checkout():
    """The checkout the tests came from: ROOT, or the one a copy laid out for
    ansible-test names in its .checkout (tests/run-ansible-test)."""
    try:
        with open(os.path.join(ROOT, ".checkout"), encoding="utf-8") as handle:
            return handle.read().strip() or ROOT
    except FileNotFoundError:
        return ROOT


CHECKOUT = _checkout()
# The platform's own files: ../shared/fixtures/nexus-cos beside the checkout
# (never copied into it), or where NEXUS_COS_FIXTURES says.
PLATFORM_FIXTURES = os.environ.get("NEXUS_COS_FIXTURES") or os.path.join(
    os.path.dirname(CHECKOUT), "shared", "fixtures", "nexus-cos")


def role(name):
    """The directory of role ``name`` of this collection."""
    return os.path.join(ROOT, "roles", name)
