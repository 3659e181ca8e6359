# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""ansible-core's own wording, as each supported release says it: before
2.19 the argument spec validator names a type as "<class 'str'>", from 2.19
as "str"; before 2.21 the command module's failure is "non-zero return code",
from 2.21 "The command exited with a non-zero return code.". Tests assert the
newest wording on either."""

from __future__ import annotations

import re


def plain(message):
    """``message`` with "<class 'str'>" written "str"."""
    return re.sub(r"<class '(\w+)'>", r"\1", message)


def command_wording(text):
    """``text`` with the command module's failure before ansible-core 2.21
    ("non-zero return code") written as from 2.21."""
    return re.sub(r"(?<!exited with a )non-zero return code\b\.?", "The command exited with a non-zero return code.", text)
