# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""ansible-core's own wording, as each supported release says it: before
2.19 the argument spec validator names a type as "<class 'str'>", from 2.19
as "str". Tests assert the newest wording on either."""

from __future__ import annotations

import re


def plain(message):
    """``message`` with "<class 'str'>" written "str"."""
    return re.sub(r"<class '(\w+)'>", r"\1", message)
