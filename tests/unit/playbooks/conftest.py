# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The plays' test bed (tests/unit/utils/play_target.py), one a test; a
test file that needs it otherwise (a fleet, a launched platform) defines
its own ``target``."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.tests.unit.utils.play_target import Target


@pytest.fixture
def target(tmp_path):
    t = Target(tmp_path)
    yield t
    t.close()
