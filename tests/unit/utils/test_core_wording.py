# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The helpers that let one assertion hold on every supported ansible-core:
its wording (core_messages) and what its callbacks get of a loop item
(play_target.item_failed)."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.tests.unit.utils import core_messages
from ansible_collections.nexus_cos.launch.tests.unit.utils.play_target import item_failed

NEWEST = "Run it failed: The command exited with a non-zero return code."


def test_the_command_modules_older_wording_reads_as_the_newest():
    assert core_messages.command_wording("Run it failed: non-zero return code") == NEWEST
    assert core_messages.command_wording(NEWEST) == NEWEST


def test_a_loop_item_failed_with_or_without_its_failed_key():
    assert item_failed({"item": "gw2", "failed": True, "exception": "(traceback unavailable)"})
    assert not item_failed({"item": "gw2", "failed": False})
    # ansible-core 2.21: no failed key in what a callback gets.
    assert item_failed({"item": "gw2", "exception": "(traceback unavailable)", "msg": "did not confirm"})
    assert not item_failed({"item": "gw2", "changed": False})
