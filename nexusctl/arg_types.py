# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The argparse types of nexusctl's numeric options, in one place: float()
takes inf and nan, which no window, timeout or threshold means. A bad value
stops at parsing with exit 2: "argument --minutes: expected a finite number
of minutes > 0, got inf"."""

from __future__ import annotations

import argparse

from ansible_collections.nexus_cos.launch.plugins.module_utils.numbers import checked_number


def finite(unit, minimum=None, above=None):
    """An argparse ``type``: a finite float within the bound."""
    def parse(text):
        number, problem = checked_number(text, unit, minimum=minimum, above=above)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return number
    parse.__name__ = "number of %s" % unit
    return parse


MINUTES = finite("minutes", above=0)
