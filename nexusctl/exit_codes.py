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
"""

from __future__ import annotations

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_ERROR, EXIT_CANCELED = 0, 1, 2, 3, 4, 5

# The table above, for nexusctl --help.
EXIT_CODES = __doc__.strip()
