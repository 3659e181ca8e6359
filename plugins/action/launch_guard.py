# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The launch guard: watches the platform for a window, one look (module
gateway_info on the flag store host) every ``interval`` seconds, judged by
plugin_utils/guard.py, with a progress line a look.

On a critical verdict it pulls the emergency switch by itself (module
kill_switch, as the kill_switch action does: lock_holder.pull_switch),
then stops watching; with ``on_critical=alert`` it only alerts and watches
on. Audited on the host (module audit_record): GUARD_START, GUARD_BREACH
(what it saw, what it did), GUARD_END, and each alert it sent.

It holds no deployment lock while it watches: it only reads, and a window
of minutes must leave the lock to an operator's rollback. The switch takes
the lock for its one execution. A live run holding it (a person at work on
the platform) is not broken unless ``break_lock``: the guard says so and
tries again at its next look while the breach lasts; a holder that is gone
is taken over.

The outcome is returned, never failed (the task runs with no_log, as its
arguments hold the alert channels): the play shows ``lines`` and fails the
run on anything but ``clean``.

Canceled (SIGINT or SIGTERM to its worker process: ansible-playbook passes
on its own, nexusctl's cancel reaches it that way) it stops watching at
once, writes GUARD_END outcome=canceled signal=NAME and returns. A cancel
always wins over a breach judged after it: no switch is started once the
signal has arrived, so an operator who stopped the guard is never
overridden by it. A switch already under way when the signal arrives was
judged before it and is let finish: cutting it half-way would leave the
platform neither open nor closed in the middle of an incident."""

from __future__ import annotations

import signal
import threading
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log
from ansible_collections.nexus_cos.launch.plugins.module_utils.numbers import checked_number
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import alerts, argspec, guard, host_records, lock_holder, pinned_vars

THRESHOLDS = tuple(sorted(guard.DEFAULTS))
SWITCH_ARGS = ("flag_store", "pf_dir", "audit_dir", "backup_dir", "lock_path", "lease_seconds", "verify_timeout",
               "host_name")
OUTCOMES = ("clean", "switch_pulled", "breach", "canceled", "error")
# The options as module launch_guard documents them; the channels hold URLs and tokens.
ARGUMENT_SPEC = argspec.argument_spec("launch_guard", secret=("channels",))
# What cancels the guard: Ctrl-C at ansible-playbook's terminal and
# ansible's own cancel both reach the worker as one of these.
CANCEL_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GuardArgumentError(ValueError):
    """An option the guard cannot use; the message names it."""


class _Canceled(Exception):
    """Raised by the signal handler only into the guard's wait between looks."""


class ActionModule(ActionBase):

    _supports_check_mode = True
    TRANSFERS_FILES = False
    # The clock, the sleep and the alert sender; unit tests give their own (no test sleeps).
    _monotonic = staticmethod(time.monotonic)
    _time = staticmethod(time.time)
    _sleep = staticmethod(time.sleep)
    _sender = staticmethod(alerts.send_all)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        pinned_vars.refuse_extra_vars(self)  # also when launch_context's check was skipped by tag
        self._canceled = None
        self._waiting = False
        self._vars = task_vars
        self._lines = []
        self._audit_errors = []
        self._head = None
        self._sent = []
        # The incidents this watch has paged and not resolved: dedup key -> the trigger sent.
        self._incidents = {}
        result.update(changed=False, looks=0, worst="ok", breach=None, switch=None, alerts=[])
        try:
            opts, settings = self._options()
        except GuardArgumentError as exc:
            result.update(outcome="error", msg="launch guard not started: %s" % exc,
                          lines=["launch guard not started: %s" % exc])
            return result
        self._opts = opts
        saved = self._catch_cancel()
        try:
            result.update(self._watch(opts, settings))
        finally:
            for signum, handler in saved.items():
                signal.signal(signum, handler)
        result["lines"] = self._lines
        result["audit_errors"] = self._audit_errors
        if self._head:
            result["audit_head"] = self._head
        return result

    def _options(self):
        """The task's options and the guard's thresholds: types, choices and
        unknown options checked by the documented spec, the rest here.
        GuardArgumentError names the option: returned, not raised, as every
        reason the guard cannot start (the task runs with no_log)."""
        try:
            dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
            opts = _options(args)
            return opts, guard.config(**opts["thresholds"])
        except AnsibleActionFail as exc:
            raise GuardArgumentError(exc.message)
        except guard.GuardConfigError as exc:
            raise GuardArgumentError(str(exc))

    # ------------------------------------------------------------ the watch

    def _watch(self, opts, settings):
        check = bool(self._task.check_mode)
        window = opts["minutes"] * 60.0
        started = self._monotonic()
        wall_start = self._time()   # the samples' times are seconds after this
        g = guard.Guard(settings, started=0.0)
        action = "pull the emergency switch" if opts["on_critical"] == "switch" else "alert only"
        self._say("launch guard: watching %s from %s for %s, a look every %s s; on a critical breach: %s%s"
                  % (opts["url"], opts["host_name"] or "the host", _duration(window), _fmt(opts["interval"]),
                     action, " (check mode: nothing is pulled, audited or sent)" if check else ""))
        self._audit([{"event": "GUARD_START", "fields": {
            "minutes": opts["minutes"], "interval_s": opts["interval"], "on_critical": opts["on_critical"],
            "thresholds": _thresholds_text(settings), "gateway": opts["url"]}}])

        switch = None
        switch_state = None
        in_breach = False
        look = 0
        verdict = None
        while not self._canceled:
            obs = self._look(opts)
            if self._canceled:
                break       # a look that came back after the cancel judges nothing
            at = self._monotonic() - started
            verdict = g.observe(obs, at)
            if not settings["expect_mode"] and obs.get("health") == 200 and obs.get("access_mode"):
                # No mode named: the one served at the first answer is the one to keep.
                settings["expect_mode"] = obs["access_mode"]
            self._display.display(g.progress(verdict, window), stderr=True)
            critical = verdict["level"] == "critical"
            if critical and not in_breach:
                self._say("launch guard: CRITICAL after %s: %s" % (_duration(at), "; ".join(verdict["reasons"])))
            if critical and opts["on_critical"] == "switch" and switch_state in (None, "not_pulled") \
                    and not self._canceled:
                switch, switch_state = self._pull(opts, verdict, check, first=not in_breach)
                if switch_state != "not_pulled":
                    in_breach = True
                    break
            elif critical and not in_breach:
                self._breach(opts, verdict, None, check)
            if not critical and self._incidents:
                self._resolve(verdict, check)
            in_breach = critical
            if at >= window:
                break
            look += 1
            wait = min(look * opts["interval"], window) - (self._monotonic() - started)
            if wait > 0:
                self._pause(wait)

        summary = g.summary()
        watched = self._monotonic() - started
        if switch_state in ("confirmed", "unconfirmed", "would"):
            outcome = "switch_pulled"
        elif self._canceled:
            outcome = "canceled"
        elif g.breach is not None:
            outcome = "breach"
        else:
            outcome = "clean"
        msg = self._end(outcome, summary, watched, switch, switch_state)
        out = dict(outcome=outcome, looks=summary["looks"], worst=summary["worst"], breach=summary["breach"],
                   watched_s=int(watched), last=summary["last"], msg=msg, expect_mode=settings["expect_mode"],
                   samples=summary["samples"], started_at=int(wall_start))
        out["changed"] = switch_state in ("confirmed", "unconfirmed")
        if switch is not None:
            out["switch"] = _switch_shown(switch, switch_state)
        out["alerts"] = self._sent
        return out

    # ------------------------------------------------------------ a cancel

    def _catch_cancel(self):
        """Handle SIGINT and SIGTERM while the guard watches; returns the
        handlers to put back. Ansible's own worker handler would end the
        process at once, before GUARD_END could be written."""
        saved = {}
        if threading.current_thread() is not threading.main_thread():
            return saved     # signals reach only the main thread; nothing to catch here
        for signum in CANCEL_SIGNALS:
            saved[signum] = signal.signal(signum, self._on_cancel)
        return saved

    def _on_cancel(self, signum, frame):
        if not self._canceled:
            self._canceled = signal.Signals(signum).name
        if self._waiting:
            raise _Canceled()   # ends the wait between looks at once; nowhere else is interrupted

    def _pause(self, seconds):
        """The wait before the next look; a cancel ends it."""
        try:
            self._waiting = True
            if not self._canceled:
                self._sleep(seconds)
        except _Canceled:
            pass
        finally:
            self._waiting = False

    def _look(self, opts):
        """One observation; a host that cannot be reached is one too."""
        seen = self._execute("nexus_cos.launch.gateway_info",
                             {"url": opts["url"], "request_timeout": opts["request_timeout"]})
        if seen.get("unreachable") or seen.get("failed") or not isinstance(seen.get("observation"), dict):
            why = str(seen.get("msg") or "no observation").splitlines()[0][:200]
            return {"health": 0, "health_text": "host not reached (%s)" % why, "latency_ms": 0,
                    "access_mode": None, "flags": None, "flags_http": "", "pf": {}}
        return seen["observation"]

    # ------------------------------------------------------------ on a breach

    def _pull(self, opts, verdict, check, first):
        """(kill_switch result, state): the switch pulled with what the guard
        saw as its reason; alerted and audited (the breach once)."""
        run_id = audit_log.new_run_id(self._time())
        reason = "launch guard of run %s: %s; seen: %s" % (
            opts["run_id"] or "-", "; ".join(verdict["reasons"]), verdict["seen"])
        args = dict((k, opts[k]) for k in SWITCH_ARGS if opts.get(k) is not None)
        args.update(gateway_url=opts["url"], reason=reason, run_id=run_id, stamp=run_id[:16],
                    break_lock=opts["break_lock"])
        self._say("launch guard: pulling the emergency switch (run %s)%s" % (
            run_id, " in check mode" if check else ""))
        switch = lock_holder.pull_switch(lambda a: self._execute("nexus_cos.launch.kill_switch", a), args)
        switch["run_id"] = run_id
        state = "would" if check and not switch.get("failed") else alerts.switch_state(switch)
        self._say("launch guard: emergency switch %s" % {
            "confirmed": "pulled and confirmed: the gateway serves %s" % switch.get("seen_text"),
            "unconfirmed": "pulled and KEPT, but the gateway did not confirm it: %s" % switch.get("seen_text"),
            "would": "would be pulled (check mode)",
            "not_pulled": "NOT pulled: %s; trying again at the next look while the breach lasts"
                          % str(switch.get("msg") or "no result").splitlines()[0]}[state])
        if first or state != "not_pulled":
            self._breach(opts, verdict, dict(switch, state=state, reason=reason), check)
        return switch, state

    def _breach(self, opts, verdict, switch, check):
        """GUARD_BREACH with what the guard saw and did; the guard_breach
        alert and, once the switch was tried, the kill_switch alert."""
        fields = {"level": verdict["level"], "after_s": int(verdict["at"]), "reasons": "; ".join(verdict["reasons"]),
                  "seen": verdict["seen"], "action": opts["on_critical"]}
        if switch is not None:
            fields.update(switch=switch["state"], switch_run=switch["run_id"])
        events = [{"event": "GUARD_BREACH", "fields": fields}]
        if check:
            return
        text = "launch guard: the platform breached a critical threshold after %s: %s" % (
            _duration(verdict["at"]), "; ".join(verdict["reasons"]))
        text += {"confirmed": "; emergency switch pulled and confirmed",
                 "unconfirmed": "; emergency switch pulled, NOT confirmed by the gateway (kept)",
                 "not_pulled": "; emergency switch NOT pulled (see kill_switch)",
                 None: "; alert only (launch_guard_on_critical=alert)"}[switch["state"] if switch else None]
        host, run_id = opts["host_name"], opts["run_id"]
        sends = []
        breach = alerts.event("guard_breach", "critical", text, host=host, run_id=run_id, at=self._time(), details={
            "seen": verdict["seen"], "reasons": verdict["reasons"], "after_s": int(verdict["at"]),
            "action": opts["on_critical"], "switch": switch["state"] if switch else None})
        # One incident a watch: a breach already paged is not paged again (a switch tried again, a new try).
        if breach["dedup_key"] not in self._incidents:
            self._incidents[breach["dedup_key"]] = breach
            sends.append(breach)
        if switch is not None:
            sends.append(alerts.switch_event(switch, reason=switch["reason"], host=host, run_id=run_id,
                                             at=self._time()))
        events.extend(self._send(opts, sends))
        self._audit(events)

    def _resolve(self, verdict, check):
        """The look after a breach saw the platform well again: each open
        incident is resolved, once."""
        if check:
            return
        sends = [alerts.resolve(payload, "launch guard: the platform is no longer in breach after %s: %s" % (
            _duration(verdict["at"]), verdict["seen"]), at=self._time()) for payload in self._incidents.values()]
        self._incidents.clear()
        self._say("launch guard: no longer in breach after %s; the incident is resolved" % _duration(verdict["at"]))
        self._audit([{"event": "GUARD_RECOVERED", "fields": {"after_s": int(verdict["at"]), "seen": verdict["seen"],
                                                             "incidents": len(sends)}}] + self._send(self._opts, sends))

    def _send(self, opts, payloads):
        """Each payload to the channels; its lines shown and kept, its
        records returned."""
        events = []
        for payload in payloads:
            results, problem = alerts.deliver(opts["channels"], payload, sender=self._sender)
            lines = alerts.report(payload["event"], results, problem, payload=payload)
            self._sent.extend(lines)
            events.extend(alerts.audit_events(payload["event"], results, problem, payload=payload))
            for line in lines:
                self._say(line)
        return events

    def _end(self, outcome, summary, watched, switch, state):
        """GUARD_END, and the run's message."""
        fields = {"outcome": outcome, "looks": summary["looks"], "worst": summary["worst"], "watched_s": int(watched),
                  "last": summary["last"] or "-"}
        if self._incidents:
            # Still in breach at the end (or the switch pulled): the page stays open for a person to close.
            fields["open_incidents"] = len(self._incidents)
            self._say("launch guard: the incident paged stays open (%s): resolve it once the platform is well"
                      % ", ".join(sorted(self._incidents)))
        if self._canceled:
            fields["signal"] = self._canceled
        self._audit([{"event": "GUARD_END", "fields": fields}])
        if outcome == "canceled":
            msg = "launch guard: canceled by %s after %s, %d looks, no switch pulled (worst: %s); last: %s" % (
                self._canceled, _duration(watched), summary["looks"], summary["worst"], summary["last"] or "-")
            self._lines.append(msg)
            return msg
        if outcome == "clean":
            msg = "launch guard: %s watched, %d looks, no critical breach (worst: %s); last: %s" % (
                _duration(watched), summary["looks"], summary["worst"], summary["last"])
        else:
            breach = summary["breach"]
            msg = "launch guard: critical breach after %s: %s" % (
                _duration(breach["at"]), "; ".join(breach["reasons"]))
            if state == "confirmed":
                msg += "; emergency switch pulled and confirmed (run %s): the gateway serves %s" % (
                    switch["run_id"], switch.get("seen_text"))
            elif state == "would":
                msg += "; the emergency switch would be pulled (check mode)"
            elif switch is not None:
                # The switch's own words: what it wrote, what the gateway served, what to check.
                msg += "; emergency switch run %s:\n%s" % (switch["run_id"], str(switch.get("msg") or "").strip())
            if switch is not None:
                if switch.get("rollback_script") and switch["rollback_script"] not in msg:
                    msg += "\nto undo the switch once the incident is over: sudo %s" % switch["rollback_script"]
            else:
                msg += "; alert only (launch_guard_on_critical=alert), nothing was changed"
        if self._canceled:
            msg += "\nthe guard was then canceled by %s: it stopped watching" % self._canceled
        self._lines.append(msg if outcome == "clean" else msg.splitlines()[0])
        return msg

    # ------------------------------------------------------------ plumbing

    def _execute(self, name, args):
        return self._execute_module(module_name=name, module_args=args, task_vars=self._vars)

    def _audit(self, events):
        if self._task.check_mode:
            return
        head, error = host_records.write(self._execute, self._opts, events)
        if head:
            self._head = head
        if error:
            self._audit_errors.append(error)
            self._say("AUDIT RECORD NOT WRITTEN: %s" % error)

    def _say(self, line):
        self._lines.append(line)
        self._display.display(line, stderr=True)


# ---------------------------------------------------------------- options

def _options(args):
    """What the spec cannot say of the validated options; GuardArgumentError
    names the option."""
    out = {"url": args.get("url"), "run_id": args.get("run_id"), "audit_file": args.get("audit_file"),
           "audit_dir": args.get("audit_dir"), "channels": args.get("channels") or [],
           "host_name": args.get("host_name"), "on_critical": args["on_critical"], "break_lock": args["break_lock"]}
    if not out["url"] or not str(out["url"]).startswith(("http://", "https://")):
        raise GuardArgumentError("url: expected the gateway's base URL as the host sees it (http://...), found %r"
                                 % (out["url"],))
    out["minutes"] = _positive(args, "minutes", 15)
    out["interval"] = _positive(args, "interval", 5)
    out["request_timeout"] = _positive(args, "request_timeout", 3)
    for key in SWITCH_ARGS:
        if key not in out:
            out[key] = args.get(key)
    if out["on_critical"] == "switch":
        missing = [k for k in ("flag_store", "pf_dir", "audit_dir", "backup_dir", "lock_path") if not out.get(k)]
        if missing:
            raise GuardArgumentError("%s: required to pull the emergency switch (the plays pass nexus_%s)"
                                     % (", ".join(missing), missing[0]))
    thresholds = {}
    for key in THRESHOLDS:
        value = args.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, float):
            # inf minutes would never end; nan passes every comparison.
            number, problem = checked_number(value)
            if problem:
                raise GuardArgumentError("launch_guard_%s: %s" % (key, problem))
        thresholds[key] = value
    out["thresholds"] = thresholds
    return out


def _positive(args, key, default):
    value = args.get(key)
    if value is None or value == "":
        return default
    number, problem = checked_number(value, above=0)
    if problem:
        raise GuardArgumentError("launch_guard_%s: %s" % (key, problem))
    return number


def _fmt(value):
    return ("%.2f" % value).rstrip("0").rstrip(".")


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return "%d s" % seconds
    return "%d min %02d s" % (seconds // 60, seconds % 60) if seconds % 60 else "%d min" % (seconds // 60)


def _thresholds_text(s):
    parts = ["unavailable>%ss critical" % _fmt(s["unavailable_seconds"])]
    parts.append("latency>%sms/%d %s" % (_fmt(s["latency_ms"]), s["latency_samples"], s["latency_level"])
                 if s["latency_ms"] is not None else "latency off")
    parts.append("errors>%s/%d %s" % (_fmt(s["error_rate"]), s["error_window"], s["error_rate_level"])
                 if s["error_rate"] is not None else "error rate off")
    parts.append("mode %s %s" % (s["expect_mode"], s["mode_level"]) if s["expect_mode"]
                 else "mode as first served, %s" % s["mode_level"])
    return ", ".join(parts)


def _switch_shown(switch, state):
    """What the result keeps of the switch's outcome."""
    keep = ("run_id", "applied", "expected", "confirmed", "lock", "seen_text", "snapshot_dir", "rollback_script", "emergency_script",
            "audit_errors", "elapsed_ms", "previous_holder")
    shown = dict((k, switch[k]) for k in keep if k in switch)
    shown["state"] = state
    shown["flags"] = ["%s %s" % (c.get("name"), "on" if c.get("after") else "off")
                      for c in switch.get("flag_changes") or []]
    if switch.get("failed"):
        shown["msg"] = switch.get("msg")
    return shown
