# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Exit codes (the same for every subcommand):
  0  done, everything passed
  1  a check, gate or verification refused (the run worked and said no)
  2  usage error: bad arguments, missing file or directory
  3  a host could not be reached
  4  anything else failed (a run cut short, ansible-runner, an unexpected error)
  5  canceled: nexusctl got SIGINT (Ctrl-C), SIGTERM or SIGHUP; the run and every
     process it started were stopped, their end records written where they could be
A --check run (a preview: no confirmation, no secrets, nothing written) exits 0
when a real run would pass its gates and 1 when a gate would refuse.
With --check --detailed-exitcode, as terraform plan -detailed-exitcode:
  0  nothing to change (and no gate would refuse)
  1  error: a gate would refuse, or any of the codes 1 to 5 above
  2  changes pending: a real run would change them (and no gate would refuse)
"""

from __future__ import annotations

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_ERROR, EXIT_CANCELED = 0, 1, 2, 3, 4, 5
# --check --detailed-exitcode
PLAN_NO_CHANGES, PLAN_ERROR, PLAN_CHANGES = 0, 1, 2


def detailed_exit_code(code, changes_pending):
    """The --detailed-exitcode of a --check run that ended with nexusctl's
    exit code ``code`` and found ``changes_pending`` (a real run would change
    something). Every failure is 1, so 2 can only mean changes pending."""
    if code != EXIT_OK:
        return PLAN_ERROR
    return PLAN_CHANGES if changes_pending else PLAN_NO_CHANGES


# The table above, for nexusctl --help.
EXIT_CODES = __doc__.strip()
