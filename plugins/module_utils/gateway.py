# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The Nexus COS gateway, as the platform's own flag service serves it
(DESIGN section 3), and the one place that says what its answers mean.

Every request the collection makes to a gateway goes through ``fetch``:
the api precheck, post-deployment validation, ``gateway_verify``, the
restores, the on-host rollback and emergency scripts, ``nexusctl status``.

What the answers mean:

* access mode: ``currentMode`` of ``GET /api/feature-flags``, the only place
  the platform serves it. ``GET /api/pf/launch/health`` is named by the
  platform's launch guide but not served by its flag service (404): it is
  asked once per client, and a 404 there is noted, never waited for;
* flags served: the length of ``flags`` in the same answer. The platform's
  service answers a reload with success even when it cannot parse the flag
  store, and then serves no flags at all (``currentMode`` none, every PF
  health 503). A gateway serving no flags while the store holds some is
  therefore a finding of its own, whatever the mode says;
* marketplace phase: ``phase`` of ``GET /api/pf/marketplace/health`` on 200;
  its 503 means phase 0;
* jurisdiction engine: ``GET /api/pf/jurisdiction/health`` 200 on, 503 off;
* reload: ``POST /api/feature-flags/reload``; a 200 whose body does not say
  ``success: false`` counts as done (the platform's never does).

Requests never go through a proxy: the gateway is asked from the host it
runs on, and an ``http_proxy`` set for the host's package manager must not
send a health probe elsewhere.

Standard library only: runs on the managed host, also with no Ansible.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

from ansible_collections.nexus_cos.launch.plugins.module_utils import flag_semantics, flag_store

DEFAULT_URL = "http://localhost:4000"
HEALTH_PATH = "/health"
FLAGS_PATH = "/api/feature-flags"
RELOAD_PATH = "/api/feature-flags/reload"
# Served by the platform's flag service, keyed by what they report.
PF_HEALTH_PATHS = {
    "marketplace": "/api/pf/marketplace/health",
    "jurisdiction": "/api/pf/jurisdiction/health",
    "ai_dealers": "/api/pf/ai-dealers/health",
    "federation": "/api/pf/federation/health",
    "creator": "/api/pf/creator/health",
}
# The flag each PF health endpoint answers by (its 200 / 503).
PF_HEALTH_FLAGS = {
    "marketplace": None,   # by MARKETPLACE_PHASE2_ENABLED or MARKETPLACE_PHASE3_ENABLED
    "jurisdiction": "JURISDICTION_ENGINE_ENABLED",
    "ai_dealers": "AI_DEALERS_ENABLED",
    "federation": "CASINO_FEDERATION_ENABLED",
    "creator": "CREATOR_MONETIZATION_ENABLED",
}
# Optional: named by the platform's launch guide, not served by its flag service.
LAUNCH_HEALTH_PATH = "/api/pf/launch/health"

READ_LIMIT = 1 << 20
USER_AGENT = "nexus-cos-launch"
STATES = ("access_mode", "marketplace_phase", "jurisdiction", "flags")


class Answer(object):
    """One answer: ``status`` (0 when nothing answered), ``body`` (parsed
    JSON or None), ``error`` (why nothing answered, or why the body is not
    JSON), ``elapsed_ms``."""

    __slots__ = ("status", "body", "error", "elapsed_ms")

    def __init__(self, status, body=None, error="", elapsed_ms=0):
        self.status = status
        self.body = body
        self.error = error
        self.elapsed_ms = elapsed_ms

    @property
    def ok(self):
        return self.status == 200

    def text(self):
        """'HTTP 503', or 'no answer (connection refused)'."""
        if self.status:
            return "HTTP %d" % self.status
        return "no answer (%s)" % (self.error or "nothing answered")

    def __repr__(self):
        return "Answer(%d, %r, %r)" % (self.status, self.body, self.error)


def _reason(exc):
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.timeout) or "timed out" in str(reason):
        return "timed out"
    text = getattr(reason, "strerror", None) or str(reason)
    return (text[:1].lower() + text[1:])[:160] if text else "nothing answered"


def fetch(url, method="GET", timeout=5.0, body=None):
    """One request, no proxies. Never raises for what the network or the
    gateway does: returns an Answer."""
    started = time.monotonic()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    data = None
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    elif method in ("POST", "PUT"):
        data = b""
    request = urllib.request.Request(url, method=method, data=data, headers=headers)
    try:
        with opener.open(request, timeout=max(float(timeout), 0.05)) as response:
            status, raw = response.status, response.read(READ_LIMIT)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, (exc.read(READ_LIMIT) if exc.fp else b"")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Answer(0, None, _reason(exc), _ms(started))
    elapsed = _ms(started)
    try:
        return Answer(status, json.loads(raw.decode("utf-8")), "", elapsed)
    except ValueError:
        return Answer(status, None, "answer is not JSON", elapsed)


def _ms(started):
    return int(round((time.monotonic() - started) * 1000))


# ---------------------------------------------------------------- meaning

def served_state(flags):
    """What a gateway serves for a flag store (the parsed document, or its
    ``feature_flags``): {access_mode, marketplace_phase, jurisdiction,
    flags}, the last being how many flags it lists."""
    table = flag_semantics.flag_table(flags)
    state = flag_semantics.effective_flags(table)
    return {"access_mode": flag_semantics.access_mode(table),
            "marketplace_phase": flag_semantics.marketplace_phase(table),
            "jurisdiction": bool(state.get(PF_HEALTH_FLAGS["jurisdiction"])),
            "flags": len(table)}


def read_flags(answer):
    """(access mode, number of flags served) from GET /api/feature-flags."""
    if not answer.ok or not isinstance(answer.body, dict):
        return None, None
    mode = answer.body.get("currentMode")
    flags = answer.body.get("flags")
    return (mode if isinstance(mode, str) else None), (len(flags) if isinstance(flags, list) else None)


def read_phase(answer):
    """The marketplace phase from its health answer: the number on 200, 0 on
    503, None when the answer says nothing usable."""
    phase = answer.body.get("phase") if isinstance(answer.body, dict) else None
    if isinstance(phase, bool):
        phase = None
    elif isinstance(phase, str) and phase.strip().isdigit():
        phase = int(phase.strip())
    if answer.status == 503 and phase in (None, 0):
        return 0
    if answer.status == 200 and isinstance(phase, int):
        return phase
    return None


def read_switch(answer):
    """True on 200, False on 503, None otherwise (PF health endpoints)."""
    return {200: True, 503: False}.get(answer.status)


def reload_done(answer):
    return answer.ok and not (isinstance(answer.body, dict) and answer.body.get("success") is False)


class Gateway(object):
    """A client of one gateway. ``fetcher`` is ``fetch`` (tests pass their
    own)."""

    def __init__(self, url=DEFAULT_URL, request_timeout=5.0, fetcher=None):
        self.url = (url or DEFAULT_URL).rstrip("/")
        self.request_timeout = float(request_timeout)
        self.fetcher = fetcher or fetch
        self.launch_health = None      # noted once: what the optional endpoint said

    def get(self, path, timeout=None):
        return self.fetcher(self.url + path, "GET", self._timeout(timeout))

    def _timeout(self, timeout):
        return self.request_timeout if timeout is None else min(self.request_timeout, max(timeout, 0.05))

    def health(self, path=HEALTH_PATH, timeout=None):
        return self.get(path, timeout)

    def reload(self, timeout=None):
        return self.fetcher(self.url + RELOAD_PATH, "POST", self._timeout(timeout))

    def flag(self, name, timeout=None):
        return self.get(FLAGS_PATH + "/" + urllib.parse.quote(name, safe=""), timeout)

    def observe(self, want=STATES, timeout=None):
        """What the gateway serves now: {access_mode, flags, marketplace_phase,
        jurisdiction, and each endpoint's answer as text under *_http}. Only
        the endpoints ``want`` needs are asked."""
        seen = {}
        if "access_mode" in want or "flags" in want:
            answer = self.get(FLAGS_PATH, timeout)
            seen["access_mode"], seen["flags"] = read_flags(answer)
            seen["flags_http"] = answer.text()
            if answer.status == 0:
                seen["unreachable"] = answer.error
            self._note_launch_health(timeout)
        if "marketplace_phase" in want:
            answer = self.get(PF_HEALTH_PATHS["marketplace"], timeout)
            seen["marketplace_phase"] = read_phase(answer)
            seen["marketplace_http"] = answer.text()
        if "jurisdiction" in want:
            answer = self.get(PF_HEALTH_PATHS["jurisdiction"], timeout)
            seen["jurisdiction"] = read_switch(answer)
            seen["jurisdiction_http"] = answer.text()
        if self.launch_health is not None:
            seen["launch_health"] = self.launch_health
        return seen

    def _note_launch_health(self, timeout):
        """Ask the optional launch endpoint once; its 404 is the platform's
        normal answer and costs nothing more."""
        if self.launch_health is not None:
            return
        answer = self.get(LAUNCH_HEALTH_PATH, timeout)
        if answer.status == 404:
            self.launch_health = "not served (HTTP 404, as the platform's flag service)"
        elif answer.ok and isinstance(answer.body, dict) and isinstance(answer.body.get("currentMode"), str):
            self.launch_health = "served, mode %s" % answer.body["currentMode"]
        else:
            self.launch_health = "not usable (%s)" % answer.text()

    def probe(self, health_path=HEALTH_PATH, timeout=None):
        """One look at the platform, as the launch guard takes it every few
        seconds: /health (status and latency), what the gateway serves
        (access mode, flags) and every PF health endpoint. Never raises."""
        health = self.get(health_path, timeout)
        flags = self.get(FLAGS_PATH, timeout)
        mode, count = read_flags(flags)
        out = {"health": health.status, "health_text": health.text(), "latency_ms": health.elapsed_ms,
               "access_mode": mode, "flags": count, "flags_http": flags.text(), "pf": {}}
        for name, path in sorted(PF_HEALTH_PATHS.items()):
            answer = self.get(path, timeout)
            out["pf"][name] = answer.status
            if name == "marketplace":
                out["marketplace_phase"] = read_phase(answer)
        return out

    def pf_health(self, timeout=None):
        """{name: True/False/None} of every PF health endpoint."""
        return dict((name, read_switch(self.get(path, timeout))) for name, path in sorted(PF_HEALTH_PATHS.items()))

    def confirm(self, expect, timeout=30.0, interval=0.25, reload=True, reload_every=8, sleep=None,
                store_path=None):
        """Have the gateway reload (unless ``reload`` is false) and poll it
        until it serves ``expect`` (keys of STATES; a key left out or None is
        not checked). Returns {reload, seen, elapsed_ms, attempts}; raises
        NotConfirmed saying what was expected and what was seen, with the
        likely cause (``store_path``: the flag store on this host, read to
        tell a file the gateway could not parse from a gateway that is behind)."""
        expect = dict((k, v) for k, v in (expect or {}).items() if k in STATES and v is not None)
        sleep = sleep or time.sleep
        started = time.monotonic()
        deadline = started + max(float(timeout), 0.0)
        reloaded, attempts = not reload, 0
        reload_text = "not asked" if not reload else "not answered"
        seen = {}
        while True:
            attempts += 1
            left = max(0.05, deadline - time.monotonic())
            # Asked again now and then: a gateway that restarted or missed
            # the first reload still gets to reread the file.
            if reload and (not reloaded or attempts % reload_every == 0):
                answer = self.reload(left)
                reloaded = reload_done(answer)
                reload_text = answer.text()
            if reloaded:
                seen = self.observe(tuple(expect) or STATES, left)
                if not mismatch(expect, seen):
                    return {"reload": reload_text, "seen": seen, "attempts": attempts,
                            "elapsed_ms": _ms(started)}
            if time.monotonic() + interval > deadline:
                break
            sleep(interval)
        raise NotConfirmed(self.url, expect, seen, reload_text, timeout, attempts, _ms(started),
                           explain(expect, seen, reload_text, store_path))


class NotConfirmed(Exception):
    """The gateway did not serve the expected state in time. ``seen``: its
    last answers; ``cause``: the likely reason in words (or '')."""

    def __init__(self, url, expect, seen, reload_text, timeout, attempts, elapsed_ms, cause=""):
        self.url = url
        self.expect = expect
        self.seen = seen
        self.reload = reload_text
        self.attempts = attempts
        self.elapsed_ms = elapsed_ms
        self.cause = cause
        if seen:
            what = "%sit serves %s" % ("" if reload_text == "not asked" else "reload %s; " % reload_text,
                                       describe_seen(seen))
        else:
            what = "the reload was not accepted (%s)" % reload_text
        message = "gateway %s did not confirm %s within %s s: %s" % (
            url, describe_expect(expect), _seconds(timeout), what)
        if cause:
            message += ". " + cause
        super().__init__(message)

    def summary(self):
        """Short form for an audit record."""
        return "reload %s; %s" % (self.reload, describe_seen(self.seen) if self.seen else "no answer")


def mismatch(expect, seen):
    """The expected names the gateway does not serve, as [name]."""
    out = []
    for name in STATES:
        if expect.get(name) is None:
            continue
        if name == "flags":
            # The count tells "serves nothing" apart; any non-empty list of
            # the right length will do.
            if seen.get("flags") != expect["flags"]:
                out.append(name)
        elif seen.get(name) != expect[name]:
            out.append(name)
    return out


def explain(expect, seen, reload_text, store_path=None):
    """The likely cause of a mismatch, in words, or ''."""
    unreachable = seen.get("unreachable")
    if unreachable is None and not seen and reload_text.startswith("no answer"):
        unreachable = reload_text[len("no answer ("):-1] or "nothing answered"
    if unreachable is not None:
        return ("Nothing answers at the gateway's address (%s): check that the gateway process runs "
                "(systemctl status, docker ps) and read its log" % unreachable)
    if expect.get("flags") and seen.get("flags") == 0:
        text = ("The gateway serves no flags at all (currentMode %s, the PF health endpoints 503)%s: the "
                "platform's flag service does this when it could not parse the flag store at its last reload"
                % (seen.get("access_mode") or "unknown",
                   ", although it answered the reload with success" if reload_text.startswith("HTTP 200") else ""))
        problem = store_problem(store_path) if store_path else None
        if store_path and problem:
            text += "; %s does not parse now: %s. Fix or restore the file, then reload the gateway" % (
                store_path, problem)
        elif store_path:
            text += ("; %s parses now, so it was broken when the gateway reread it: reload the gateway again "
                     "(curl -X POST <gateway>%s)" % (store_path, RELOAD_PATH))
        return text
    return ""


def store_problem(path):
    """Why the flag store at ``path`` would not load in the platform's
    service, or None when it would: the service's reading, as flag_store
    decides it (service_load)."""
    return flag_store.service_problem(path)


def describe_expect(expect):
    parts = []
    if expect.get("access_mode") is not None:
        parts.append("access mode %s" % expect["access_mode"])
    if expect.get("marketplace_phase") is not None:
        parts.append("marketplace phase %s" % expect["marketplace_phase"])
    if expect.get("jurisdiction") is not None:
        parts.append("jurisdiction engine %s" % ("on" if expect["jurisdiction"] else "off"))
    if expect.get("flags") is not None:
        parts.append("%d flags" % expect["flags"])
    return ", ".join(parts) or "an answer"


def describe_seen(seen):
    parts = []
    if "flags_http" in seen:
        parts.append("access mode %s, %s flags (%s)" % (
            _unknown(seen.get("access_mode")), _unknown(seen.get("flags")), seen["flags_http"]))
    if "marketplace_http" in seen:
        parts.append("marketplace phase %s (%s)" % (_unknown(seen.get("marketplace_phase")),
                                                    seen["marketplace_http"]))
    if "jurisdiction_http" in seen:
        value = seen.get("jurisdiction")
        parts.append("jurisdiction engine %s (%s)" % (
            "unknown" if value is None else ("on" if value else "off"), seen["jurisdiction_http"]))
    return ", ".join(parts) or "nothing"


def _unknown(value):
    return "unknown" if value is None else value


def _seconds(value):
    return ("%.2f" % float(value)).rstrip("0").rstrip(".")
