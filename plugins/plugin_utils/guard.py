# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The launch guard's judgement: observations of the platform in, a verdict
out. Pure logic on the controller (the action plugin launch_guard takes the
observations on the host with module gateway_info and acts on a critical
verdict), so every threshold is tested without a host.

The seed's launch sequence asks for "monitor metrics in real time" and a
rollback "when the system is unavailable"; this is that, made exact:

* unavailable: ``/health`` not 200, or the gateway serving no flags at all
  (the platform's state after a reload of a flag store it could not parse),
  without a break for ``unavailable_seconds`` (default 30): critical;
* latency: the median ``/health`` latency of the last ``latency_samples``
  observations above ``latency_ms`` (off by default): ``latency_level``;
* error rate: more than ``error_rate`` of the last ``error_window``
  observations with an error answer (no answer or 5xx, a PF endpoint's 503
  excepted: that is a feature switched off) (off by default):
  ``error_rate_level``;
* access mode: the gateway serving another mode than the one expected (the
  one the launch left): ``mode_level`` (warn by default: someone changed it).
"""

from __future__ import annotations

import collections
import statistics

from ansible_collections.nexus_cos.launch.plugins.module_utils.numbers import checked_number

LEVELS = ("ok", "warn", "critical")
DEFAULTS = {"unavailable_seconds": 30.0, "latency_ms": None, "latency_samples": 5, "latency_level": "warn",
            "error_rate": None, "error_window": 10, "error_rate_level": "critical", "expect_mode": None,
            "mode_level": "warn"}
# Samples the guard keeps for the launch report's chart: the newest ones,
# a 15 minute window at one look every 5 s fits twice over. Bounded so a
# long watch cannot grow the result (and the report) without limit.
SAMPLES_KEPT = 360


class GuardConfigError(ValueError):
    """A threshold that cannot be used; the message names the variable."""


def config(**given):
    """The guard's thresholds over DEFAULTS. Names, types and choices are the
    action's argument spec (module launch_guard's documentation); the ranges
    no spec says are checked here, naming ``launch_guard_<key>``."""
    out = dict(DEFAULTS, **given)
    for key in ("unavailable_seconds", "latency_ms", "error_rate"):
        if out[key] is not None and (isinstance(out[key], bool) or not isinstance(out[key], (int, float))
                                     or checked_number(out[key], minimum=0)[1]):
            raise GuardConfigError("launch_guard_%s: expected a finite number of 0 or more, found %r"
                                   % (key, out[key]))
    if out["error_rate"] is not None and out["error_rate"] > 1:
        raise GuardConfigError("launch_guard_error_rate: expected a fraction between 0 and 1, found %r"
                               % out["error_rate"])
    for key in ("latency_samples", "error_window"):
        if isinstance(out[key], bool) or not isinstance(out[key], int) or out[key] < 1:
            raise GuardConfigError("launch_guard_%s: expected a whole number of 1 or more, found %r"
                                   % (key, out[key]))
    return out


def _available(obs):
    return obs.get("health") == 200 and obs.get("flags") not in (0,)


def _erred(obs):
    statuses = [obs.get("health"), _status_of(obs.get("flags_http"))]
    statuses += [status for status in (obs.get("pf") or {}).values() if status != 503]
    return any(status == 0 or (isinstance(status, int) and status >= 500) for status in statuses)


def _status_of(text):
    """200 from 'HTTP 200', 0 from 'no answer (...)'."""
    if isinstance(text, str) and text.startswith("HTTP "):
        try:
            return int(text[5:8])
        except ValueError:
            return None
    return 0 if text else None


def describe(obs):
    """One observation in a few words, for the progress line and records."""
    health = obs.get("health_text") or ("HTTP %s" % obs.get("health"))
    parts = ["/health %s %s ms" % (health, obs.get("latency_ms", "?"))]
    parts.append("mode %s, %s flags" % (obs.get("access_mode") or "unknown",
                                        "?" if obs.get("flags") is None else obs["flags"]))
    if obs.get("marketplace_phase") is not None:
        parts.append("marketplace phase %s" % obs["marketplace_phase"])
    return ", ".join(parts)


class Guard(object):
    """Feed it observations with their times; it says ok, warn or critical,
    and why. ``started``: when the watch began."""

    def __init__(self, settings, started):
        self.settings = settings
        self.started = started
        self.history = []           # (at, observation)
        self.unavailable_since = None
        self.worst = "ok"
        self.breach = None          # the first critical verdict
        self.samples = collections.deque(maxlen=SAMPLES_KEPT)

    def observe(self, obs, at):
        """The verdict for the platform as seen at ``at``: {level, reasons,
        seen}."""
        s = self.settings
        self.history.append((at, obs))
        reasons = []
        if _available(obs):
            self.unavailable_since = None
        else:
            if self.unavailable_since is None:
                self.unavailable_since = at
            down = at - self.unavailable_since
            why = "serves no flags at all" if obs.get("health") == 200 else "/health %s" % (
                obs.get("health_text") or obs.get("health"))
            if down >= s["unavailable_seconds"]:
                reasons.append(("critical", "the platform is unavailable for %.0f s (threshold %s s): %s"
                                % (down, _number(s["unavailable_seconds"]), why)))
            else:
                reasons.append(("warn", "the platform is unavailable for %.0f s of the %s s allowed: %s"
                                % (down, _number(s["unavailable_seconds"]), why)))
        if s["latency_ms"] is not None:
            recent = [o.get("latency_ms") for dummy, o in self.history[-s["latency_samples"]:] if o.get("health") == 200]
            if len(recent) >= s["latency_samples"]:
                middle = statistics.median(recent)
                if middle > s["latency_ms"]:
                    reasons.append((s["latency_level"], "median /health latency %d ms over the last %d answers is "
                                    "above %s ms" % (middle, len(recent), _number(s["latency_ms"]))))
        if s["error_rate"] is not None:
            window = [o for dummy, o in self.history[-s["error_window"]:]]
            errors = sum(1 for o in window if _erred(o))
            if len(window) >= s["error_window"] and errors / float(len(window)) > s["error_rate"]:
                reasons.append((s["error_rate_level"], "%d of the last %d looks had an error answer (over %s)"
                                % (errors, len(window), _number(s["error_rate"]))))
        if s["expect_mode"] and obs.get("health") == 200 and obs.get("access_mode") not in (None, s["expect_mode"]):
            reasons.append((s["mode_level"], "the gateway serves access mode %s, not %s" % (obs.get("access_mode"),
                                                                                            s["expect_mode"])))
        level = max((lvl for lvl, dummy in reasons), key=LEVELS.index, default="ok")
        verdict = {"level": level, "reasons": [text for dummy, text in reasons], "seen": describe(obs), "at": at}
        self.samples.append({"t": round(at, 1), "available": _available(obs), "latency_ms": obs.get("latency_ms"),
                             "mode": obs.get("access_mode"), "level": level})
        if LEVELS.index(level) > LEVELS.index(self.worst):
            self.worst = level
        if level == "critical" and self.breach is None:
            self.breach = verdict
        return verdict

    def progress(self, verdict, ends):
        """'guard 12:03 left | /health HTTP 200 12 ms, mode public_full, 9 flags | ok'."""
        left = max(0, int(ends - verdict["at"]))
        text = "guard %d:%02d left | %s | %s" % (left // 60, left % 60, verdict["seen"], verdict["level"].upper()
                                                 if verdict["level"] != "ok" else "ok")
        if verdict["reasons"]:
            text += ": " + "; ".join(verdict["reasons"])
        return text

    def summary(self):
        """{looks, worst, breach, first, last, samples} of the whole watch;
        samples: the last SAMPLES_KEPT looks as {t (s since the watch began),
        available, latency_ms, mode, level}."""
        return {"looks": len(self.history), "worst": self.worst, "breach": self.breach, "samples": list(self.samples),
                "first": describe(self.history[0][1]) if self.history else None,
                "last": describe(self.history[-1][1]) if self.history else None}


def _number(value):
    return ("%.2f" % value).rstrip("0").rstrip(".")
