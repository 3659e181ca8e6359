# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Where the tests find the checkout and what stands beside it, in one place."""

from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONFIG_FIXTURES = os.path.join(ROOT, "tests", "fixtures", "config")
# The platform's own files: ../shared/fixtures/nexus-cos beside the checkout
# (never copied into it), or where NEXUS_COS_FIXTURES says.
PLATFORM_FIXTURES = os.environ.get("NEXUS_COS_FIXTURES") or os.path.join(
    os.path.dirname(ROOT), "shared", "fixtures", "nexus-cos")


def role(name):
    """The directory of role ``name`` of this collection."""
    return os.path.join(ROOT, "roles", name)
