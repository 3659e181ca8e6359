# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The one check of a number an operator gives (a role variable, a module
or action argument, a nexusctl option). Standard library only: it runs on
the managed host too.

float() takes "inf", "nan" and "1e999": a guard that watches for inf
minutes never ends and a threshold of nan compares false with everything,
so each is refused with the name of what was given.
"""

from __future__ import annotations

import math


def finite_number(value, name, unit="", minimum=None, above=None):
    """``value`` as a finite float, else ValueError naming ``name``:
    "NAME: expected a finite number of UNIT > 0, got inf". ``above``: the
    value must be greater; ``minimum``: at least. Booleans are refused
    (YAML's yes is no number)."""
    number, problem = checked_number(value, unit, minimum, above)
    if problem:
        raise ValueError("%s: %s" % (name, problem))
    return number


def checked_number(value, unit="", minimum=None, above=None):
    """(float, None), or (None, "expected a finite number of UNIT > 0, got
    inf") for what finite_number refuses; for callers that name the value
    their own way (argparse puts the option's name first)."""
    bound = ""
    if above is not None:
        bound = " > %s" % _plain(above)
    elif minimum is not None:
        bound = " >= %s" % _plain(minimum)
    expected = "expected a finite number%s%s" % ((" of " + unit) if unit else "", bound)
    if isinstance(value, bool):
        return None, "%s, got %r" % (expected, value)
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None, "%s, got %r" % (expected, value)
    if not math.isfinite(number) or (above is not None and number <= above) \
            or (minimum is not None and number < minimum):
        return None, "%s, got %s" % (expected, _plain(number) if math.isfinite(number) else value)
    return number, None


def _plain(number):
    number = float(number)
    return ("%d" % number) if number.is_integer() else ("%g" % number)
