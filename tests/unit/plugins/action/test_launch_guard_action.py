"""The launch guard's loop (action launch_guard) on the controller: a fake
host answers its module executions, a fake clock moves only when the guard
looks or sleeps, so a fifteen-minute window takes milliseconds and every
time in the assertions is exact."""

from __future__ import annotations

import json
import signal
from unittest import mock

import pytest

from ansible_collections.nexus_cos.launch.plugins.action import launch_guard
from ansible_collections.nexus_cos.launch.tests.unit.utils import alert_receivers, core_messages, repo_paths

UP = {"health": 200, "health_text": "HTTP 200", "latency_ms": 12, "access_mode": "public_full", "flags": 9,
      "flags_http": "HTTP 200", "marketplace_phase": 3, "pf": {"marketplace": 200}}
DOWN = {"health": 0, "health_text": "no answer (connection refused)", "latency_ms": 1, "access_mode": None,
        "flags": None, "flags_http": "no answer (connection refused)", "pf": {}}
TOKEN = "guard-test-token-5c1e"
ROUTING_KEY = "R0UT1NGKEYguard0000000000000c0de"     # 32 characters, as PagerDuty's
CHANNELS = [{"name": "ops", "type": "webhook", "url": "http://203.0.113.9:8099/hook", "token": TOKEN}]
PATHS = {"flag_store": "/opt/nexus-cos/config/feature-flags.json", "pf_dir": "/opt/nexus-cos/pfs",
         "audit_dir": "/var/log/nexus-cos/phase4-audit", "backup_dir": "/opt/nexus-cos/backups/phase4",
         "lock_path": "/var/lock/nexus-cos-phase4-deploy.lock"}
LOOK_SECONDS = 0.5      # what one look costs on the fake clock
SWITCH_SECONDS = 2.0


class Clock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def time(self):
        return 1796119200.0 + self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


class Host(object):
    """Answers gateway_info with ``platform(t)``, kill_switch with
    ``switch`` (a list: one result a call), audit_record by keeping the
    records."""

    def __init__(self, clock, platform, switch=None):
        self.clock, self.platform = clock, platform
        self.switch = list(switch or [])
        self.calls = []
        self.records = []

    def __call__(self, module_name, module_args, task_vars):
        name = module_name.split(".")[-1]
        self.calls.append((name, self.clock.now, dict(module_args)))
        if name == "gateway_info":
            self.clock.now += LOOK_SECONDS
            return {"changed": False, "observation": dict(self.platform(self.clock.now))}
        if name == "kill_switch":
            self.clock.now += SWITCH_SECONDS
            return dict(self.switch.pop(0))
        if name == "audit_record":
            self.records.extend(module_args["audit_events"])
            return {"changed": True, "audit_head": {"seq": len(self.records), "chain": "c%d" % len(self.records)}}
        raise AssertionError("unexpected module %s" % module_name)

    def events(self):
        return [r["event"] for r in self.records]

    def switch_calls(self):
        return [c for c in self.calls if c[0] == "kill_switch"]


EXPECTED = {"access_mode": "founder_beta", "marketplace_phase": 0, "flags": 9}
CONFIRMED = {"changed": True, "applied": True, "expected": EXPECTED, "confirmed": True, "lock": "acquired", "seen_text": "access mode founder_beta, 9 flags",
             "rollback_script": "/var/log/nexus-cos/phase4-audit/rollback-20261201T100030Z.sh",
             "flag_changes": [{"name": "FOUNDER_BETA_MODE", "before": False, "after": True}]}
UNCONFIRMED = {"failed": True, "changed": True, "applied": True, "expected": EXPECTED, "confirmed": False,
               "lock": "acquired",
               "seen_text": "no answer (connection refused)",
               "msg": "emergency switch APPLIED and KEPT, but the gateway did not confirm it.\n  written: flags ..."}
LOCK_HELD = {"failed": True, "confirmed": False, "lock": None, "seen_text": "",
             "previous_holder": {"run_id": "20261201T095900Z-abc123", "controller": "elsewhere", "pid": 1},
             "msg": "emergency switch not pulled: the deployment lock is held by run 20261201T095900Z-abc123"}


def run_guard(clock, host, check_mode=False, sent=None, real_sender=False, **args):
    task = mock.MagicMock()
    task.args = dict({"url": "http://localhost:4000", "minutes": 0.5, "interval": 5, "run_id": "20261201T100000Z-aaaaaa",
                      "audit_file": "activation-20261201T100000Z.log", "host_name": "vps1", "channels": CHANNELS,
                      "lease_seconds": 1800, "verify_timeout": 5}, **PATHS)
    task.args.update(args)
    task.async_val, task.check_mode, task.diff = 0, check_mode, False
    action = launch_guard.ActionModule(task, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock(),
                                       mock.MagicMock())
    action._load_name = "nexus_cos.launch.launch_guard"  # as the plugin loader names it
    action._execute_module = host
    action._monotonic, action._time, action._sleep = clock.monotonic, clock.time, clock.sleep
    shown = []
    action._display = mock.MagicMock()
    action._display.display.side_effect = lambda text, **kw: shown.append(text)
    sent = [] if sent is None else sent

    def sender(channels, payload):
        sent.append(payload)
        return [{"channel": c["name"], "type": c["type"], "ok": True, "status": 200, "reason": "", "elapsed_ms": 3}
                for c in channels]

    if not real_sender:
        action._sender = sender
    result = action.run(task_vars={})
    return result, shown, sent


def test_a_healthy_window_ends_clean_with_a_look_every_interval():
    clock = Clock()
    host = Host(clock, lambda t: UP)
    result, shown, sent = run_guard(clock, host, minutes=0.5, interval=5)
    probes = [t for name, t, dummy in host.calls if name == "gateway_info"]
    assert probes == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    assert result["outcome"] == "clean" and result["changed"] is False and result["looks"] == 7
    assert result["worst"] == "ok" and result["breach"] is None and sent == []
    assert host.events() == ["GUARD_START", "GUARD_END"]
    assert host.records[1]["fields"] == {"outcome": "clean", "looks": 7, "worst": "ok", "watched_s": 30,
                                         "last": "/health HTTP 200 12 ms, mode public_full, 9 flags, "
                                                 "marketplace phase 3"}
    progress = [line for line in shown if line.startswith("guard ")]
    assert progress[0] == ("guard 0:29 left | /health HTTP 200 12 ms, mode public_full, 9 flags, "
                           "marketplace phase 3 | ok")
    assert progress[-1].startswith("guard 0:00 left | ") and len(progress) == 7
    assert result["msg"] == ("launch guard: 30 s watched, 7 looks, no critical breach (worst: ok); last: "
                             "/health HTTP 200 12 ms, mode public_full, 9 flags, marketplace phase 3")
    assert clock.sleeps == [4.5] * 6      # the next look on the interval, less what a look took
    # What it saw is kept for the launch report's chart, timed from the watch's start.
    assert [s["t"] for s in result["samples"]] == [0.5, 5.5, 10.5, 15.5, 20.5, 25.5, 30.5]   # a look takes 0.5 s
    assert result["samples"][0] == {"t": 0.5, "available": True, "latency_ms": 12, "mode": "public_full", "level": "ok"}
    assert result["started_at"] == 1796119200


def test_the_gateway_dying_trips_the_switch_within_the_threshold_and_one_interval():
    clock = Clock()
    host = Host(clock, lambda t: UP if t < 20 else DOWN, switch=[UNCONFIRMED])
    result, shown, sent = run_guard(clock, host, minutes=1, interval=2, unavailable_seconds=10)
    (dummy, tripped_at, args), = host.switch_calls()
    assert 20 + 10 <= tripped_at <= 20 + 10 + 2 + LOOK_SECONDS
    assert args["reason"] == ("launch guard of run 20261201T100000Z-aaaaaa: the platform is unavailable for 10 s "
                              "(threshold 10 s): /health no answer (connection refused); seen: /health no answer "
                              "(connection refused) 1 ms, mode unknown, ? flags")
    assert args["run_id"].startswith("20261201T100030Z-") and args["stamp"] == "20261201T100030Z"
    assert args["break_lock"] is False and args["gateway_url"] == "http://localhost:4000"
    assert args["holder"]["controller"] and args["flag_store"] == PATHS["flag_store"]
    # It stopped watching once the switch was pulled; the switch stays pulled.
    assert result["outcome"] == "switch_pulled" and result["changed"] is True
    assert not [c for c in host.calls if c[0] == "gateway_info" and c[1] > tripped_at]
    assert result["switch"]["state"] == "unconfirmed"
    # Kept and applied: what a fleet's other gateways are then held to (role launch_guard).
    assert result["switch"]["applied"] is True and result["switch"]["expected"] == EXPECTED
    assert host.events() == ["GUARD_START", "GUARD_BREACH", "ALERT_SENT", "ALERT_SENT", "GUARD_END"]
    breach = host.records[1]["fields"]
    assert breach == {"level": "critical", "after_s": 30, "action": "switch", "switch": "unconfirmed",
                      "switch_run": args["run_id"],
                      "reasons": "the platform is unavailable for 10 s (threshold 10 s): /health no answer "
                                 "(connection refused)",
                      "seen": "/health no answer (connection refused) 1 ms, mode unknown, ? flags"}
    assert [p["event"] for p in sent] == ["guard_breach", "kill_switch"]
    assert sent[0]["text"] == ("launch guard: the platform breached a critical threshold after 30 s: the platform is "
                               "unavailable for 10 s (threshold 10 s): /health no answer (connection refused); "
                               "emergency switch pulled, NOT confirmed by the gateway (kept)")
    assert sent[1]["text"] == ("emergency switch pulled and kept, but the gateway did NOT confirm it: no answer "
                               "(connection refused)")
    assert sent[1]["details"]["state"] == "unconfirmed" and sent[1]["run_id"] == "20261201T100000Z-aaaaaa"
    assert result["msg"].startswith("launch guard: critical breach after 30 s: the platform is unavailable for 10 s")
    assert ("; emergency switch run %s:\nemergency switch APPLIED and KEPT, but the gateway did not confirm it."
            % args["run_id"]) in result["msg"]
    assert any(line.startswith("guard 0:") and "CRITICAL" in line for line in shown)


def test_alert_only_alerts_once_a_breach_and_watches_to_the_end():
    clock = Clock()
    # Down from 10 s to 40 s, back, down again from 52 s.
    host = Host(clock, lambda t: DOWN if 10 <= t < 40 or t >= 52 else UP)
    result, dummy, sent = run_guard(clock, host, minutes=1, interval=5, unavailable_seconds=10, on_critical="alert")
    assert host.switch_calls() == []
    # Paged once, resolved once at the first healthy look (40 s); the second outage is shorter than the threshold.
    assert [(p["event"], p["action"]) for p in sent] == [("guard_breach", "trigger"), ("guard_breach", "resolve")]
    assert sent[0]["dedup_key"] == sent[1]["dedup_key"] and sent[0]["severity"] == sent[1]["severity"] == "critical"
    assert sent[1]["text"] == ("launch guard: the platform is no longer in breach after 40 s: /health HTTP 200 12 ms, "
                               "mode public_full, 9 flags, marketplace phase 3")
    assert sent[0]["details"]["action"] == "alert" and sent[0]["details"]["switch"] is None
    assert result["outcome"] == "breach" and result["changed"] is False
    assert result["looks"] == 13 and result["watched_s"] == 60
    assert result["msg"].endswith("; alert only (launch_guard_on_critical=alert), nothing was changed")
    assert host.events() == ["GUARD_START", "GUARD_BREACH", "ALERT_SENT", "GUARD_RECOVERED", "ALERT_SENT", "GUARD_END"]
    assert host.records[4]["fields"]["action"] == "resolve"
    assert "open_incidents" not in host.records[-1]["fields"]


def test_a_live_run_holding_the_lock_is_not_broken_and_the_switch_is_tried_again():
    clock = Clock()
    host = Host(clock, lambda t: DOWN, switch=[LOCK_HELD, CONFIRMED])
    result, dummy, sent = run_guard(clock, host, minutes=2, interval=5, unavailable_seconds=10)
    calls = host.switch_calls()
    assert len(calls) == 2 and calls[1][1] > calls[0][1]
    assert [c[2]["break_lock"] for c in calls] == [False, False]
    assert "recover_run" not in calls[1][2]      # the holder runs elsewhere: nothing to take over
    assert result["outcome"] == "switch_pulled" and result["switch"]["state"] == "confirmed"
    # The breach is one incident, paged once; the switch's second try updates its own incident (same key).
    assert [(p["event"], p["details"].get("state") or p["details"].get("switch")) for p in sent] == [
        ("guard_breach", "not_pulled"), ("kill_switch", "not_pulled"), ("kill_switch", "confirmed")]
    assert sent[1]["dedup_key"] == sent[2]["dedup_key"] != sent[0]["dedup_key"]
    assert host.events().count("GUARD_BREACH") == 2


def test_a_host_out_of_reach_is_an_unavailable_platform():
    clock = Clock()
    host = Host(clock, lambda t: UP)
    answers = iter([{"unreachable": True, "msg": "Failed to connect to the host via docker_api: gone"}] * 100)

    def execute(module_name, module_args, task_vars):
        if module_name.endswith("gateway_info"):
            clock.now += LOOK_SECONDS
            return next(answers)
        return host(module_name, module_args, task_vars)

    result, shown, dummy = run_guard(clock, execute, minutes=0.25, interval=5, unavailable_seconds=60,
                                     on_critical="alert")
    assert result["outcome"] == "clean" and result["worst"] == "warn"
    assert "host not reached (Failed to connect to the host via docker_api: gone)" in result["last"]


@pytest.mark.parametrize("args, message", [
    ({"minutes": 0}, "launch_guard_minutes: expected a finite number > 0, got 0"),
    ({"minutes": "inf"}, "launch_guard_minutes: expected a finite number > 0, got inf"),
    ({"interval": float("nan")}, "launch_guard_interval: expected a finite number > 0, got nan"),
    ({"interval": "soon"}, "argument 'interval' is of type str and we were unable to convert to float"),
    ({"request_timeout": "1e999"}, "launch_guard_request_timeout: expected a finite number > 0, got inf"),
    ({"unavailable_seconds": -3}, "launch_guard_unavailable_seconds: expected a finite number of 0 or more"),
    ({"latency_ms": "inf"}, "launch_guard_latency_ms: expected a finite number, got inf"),
    ({"error_rate": "nan"}, "launch_guard_error_rate: expected a finite number, got nan"),
    ({"latency_samples": 2.5}, "argument 'latency_samples' is of type float and we were unable to convert to int"),
    ({"on_critical": "panic"}, "value of on_critical must be one of: switch, alert, got: panic"),
    ({"break_lock": "perhaps"}, "argument 'break_lock' is of type str and we were unable to convert to bool"),
    ({"minuets": 5}, "module: minuets. Supported parameters include: "),
    ({"latency_level": "loud"}, "value of latency_level must be one of: warn, critical, got: loud"),
    ({"error_window": 0}, "launch_guard_error_window: expected a whole number of 1 or more"),
    ({"flag_store": None}, "flag_store: required to pull the emergency switch"),
])
def test_bad_options_stop_before_the_first_look_naming_the_variable(args, message):
    clock = Clock()
    host = Host(clock, lambda t: UP)
    result, dummy, dummy_sent = run_guard(clock, host, **args)
    assert result["outcome"] == "error" and message in core_messages.plain(result["msg"]) and host.calls == []


def test_check_mode_watches_and_says_what_it_would_do_without_records_or_alerts():
    clock = Clock()
    host = Host(clock, lambda t: DOWN, switch=[{"changed": True, "confirmed": False, "lock": None,
                                                "flag_changes": [{"name": "FOUNDER_BETA_MODE", "after": True}]}])
    result, dummy, sent = run_guard(clock, host, check_mode=True, minutes=1, interval=5, unavailable_seconds=10)
    assert result["outcome"] == "switch_pulled" and result["switch"]["state"] == "would"
    assert result["changed"] is False and host.records == [] and sent == []
    assert "the emergency switch would be pulled (check mode" in result["msg"]


def test_the_channels_token_and_url_appear_nowhere_the_guard_writes_or_shows():
    clock = Clock()
    host = Host(clock, lambda t: UP if t < 5 else DOWN, switch=[UNCONFIRMED])
    channels = CHANNELS + [{"name": "oncall", "type": "pagerduty", "routing_key": ROUTING_KEY,
                            "url": "http://203.0.113.9:8099/v2/enqueue"}]
    result, shown, sent = run_guard(clock, host, minutes=1, interval=2, unavailable_seconds=5, channels=channels)
    everything = json.dumps([result, shown, host.records, [c[2] for c in host.calls], sent],
                            default=str)
    assert result["outcome"] == "switch_pulled" and host.events().count("ALERT_SENT") == 4
    assert TOKEN not in everything and "203.0.113.9" not in everything and ROUTING_KEY not in everything


# ---------------------------------------------------------------- paging through real receivers

@pytest.fixture
def pager():
    pd = alert_receivers.PagerDutyReceiver(ROUTING_KEY).start()
    am = alert_receivers.AlertmanagerReceiver().start()
    yield pd, am
    pd.stop()
    am.stop()


def test_a_breach_seen_on_five_looks_pages_once_and_resolves_once(pager):
    pd, am = pager
    clock = Clock()
    # Critical on the looks at 20, 25, 30, 35 and 40 s (down 10 s or more), well again at 45 s.
    host = Host(clock, lambda t: DOWN if 10 <= t < 45 else UP)
    channels = [{"name": "oncall", "type": "pagerduty", "routing_key": ROUTING_KEY, "url": pd.url + "/v2/enqueue"},
                {"name": "am", "type": "alertmanager", "url": am.url}]
    result, shown, dummy = run_guard(clock, host, minutes=1, interval=5, unavailable_seconds=10, on_critical="alert",
                                     channels=channels, real_sender=True)
    critical = [line for line in shown if line.startswith("guard ") and "CRITICAL" in line]
    assert len(critical) == 5 and result["outcome"] == "breach"
    assert pd.invalid == [] and am.invalid == []
    assert [e["event_action"] for e in pd.events] == ["trigger", "resolve"]
    (key,) = pd.pages
    assert pd.pages == {key: 1} and pd.resolves == {key: 1} and pd.open == set()
    assert pd.events[0]["payload"]["severity"] == "critical" and pd.events[0]["payload"]["source"] == "vps1"
    assert len(am.events) == 2 and len(am.pages) == 1 and list(am.pages.values()) == [1]
    assert list(am.resolves.values()) == [1] and am.open == set()
    assert am.events[0]["labels"] == am.events[1]["labels"] and "endsAt" not in am.events[0]
    assert am.events[1]["startsAt"] == am.events[0]["startsAt"] < am.events[1]["endsAt"]
    assert [r["event"] for r in host.records].count("ALERT_SENT") == 4
    assert ROUTING_KEY not in json.dumps([result, shown, host.records], default=str)


def test_a_breach_still_open_at_the_end_is_left_open_and_said_so(pager):
    pd, am = pager
    clock = Clock()
    host = Host(clock, lambda t: DOWN if t >= 10 else UP)
    channels = [{"name": "oncall", "type": "pagerduty", "routing_key": ROUTING_KEY, "url": pd.url + "/v2/enqueue"}]
    result, shown, dummy = run_guard(clock, host, minutes=1, interval=5, unavailable_seconds=10, on_critical="alert",
                                     channels=channels, real_sender=True)
    assert [e["event_action"] for e in pd.events] == ["trigger"] and len(pd.open) == 1
    assert host.records[-1]["fields"]["open_incidents"] == 1
    assert any(line.startswith("launch guard: the incident paged stays open (nexus-cos-guard-breach-") for line in shown)


def test_the_roles_defaults_are_the_guards_and_the_actions():
    import os
    import yaml
    from ansible_collections.nexus_cos.launch.plugins.plugin_utils import guard
    with open(os.path.join(repo_paths.role("launch_guard"), "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    assert {key: defaults["launch_guard_" + key] or None for key in guard.DEFAULTS} == guard.DEFAULTS
    assert (defaults["launch_guard_minutes"], defaults["launch_guard_interval"],
            defaults["launch_guard_request_timeout"], defaults["launch_guard_on_critical"]) == (15, 5, 3, "switch")


# ---------------------------------------------------------------- canceled

def signal_self(signum):
    """A real signal to this process, as ansible-playbook passes it on to
    the worker running the guard: the guard's own handler takes it."""
    import os
    os.kill(os.getpid(), signum)


class CancelAt(Clock):
    """Sends ``signum`` to this process during the first wait after ``at``."""

    def __init__(self, at, signum):
        super().__init__()
        self.at, self.signum, self.sent = at, signum, False

    def sleep(self, seconds):
        super().sleep(seconds)
        if self.now >= self.at and not self.sent:
            self.sent = True
            signal_self(self.signum)


@pytest.mark.parametrize("signum, name", [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")])
def test_a_cancel_ends_the_watch_at_once_with_its_end_record(signum, name):
    before = signal.getsignal(signum)
    clock = CancelAt(12, signum)
    # Down from 20 s: a guard that went on watching would pull the switch at 30 s.
    host = Host(clock, lambda t: UP if t < 20 else DOWN, switch=[CONFIRMED])
    result, shown, sent = run_guard(clock, host, minutes=1, interval=5, unavailable_seconds=10)
    assert host.switch_calls() == [] and sent == []
    assert not [c for c in host.calls if c[0] == "gateway_info" and c[1] > 15]
    assert result["outcome"] == "canceled" and result["changed"] is False
    assert host.events() == ["GUARD_START", "GUARD_END"]
    assert host.records[1]["fields"] == {"outcome": "canceled", "signal": name, "looks": 3, "worst": "ok",
                                         "watched_s": 15, "last": "/health HTTP 200 12 ms, mode public_full, "
                                                                  "9 flags, marketplace phase 3"}
    assert result["msg"] == ("launch guard: canceled by %s after 15 s, 3 looks, no switch pulled (worst: ok); "
                             "last: /health HTTP 200 12 ms, mode public_full, 9 flags, marketplace phase 3" % name)
    assert signal.getsignal(signum) is before, "the worker's own handler is put back"


def test_a_breach_seen_after_the_cancel_pulls_no_switch():
    clock = Clock()

    def platform(t):
        signal_self(signal.SIGTERM)     # arrives while the look that sees the outage is under way
        return DOWN

    host = Host(clock, platform, switch=[CONFIRMED])
    result, dummy, sent = run_guard(clock, host, minutes=1, interval=5, unavailable_seconds=0)
    assert host.switch_calls() == [] and sent == []
    assert result["outcome"] == "canceled" and host.events() == ["GUARD_START", "GUARD_END"]
    assert host.records[1]["fields"]["signal"] == "SIGTERM"


def test_a_switch_judged_before_the_cancel_is_let_finish_and_the_end_record_says_both():
    clock = Clock()
    host = Host(clock, lambda t: DOWN, switch=[CONFIRMED])
    real = host.__call__

    def execute(module_name, module_args, task_vars):
        if module_name.endswith("kill_switch"):
            signal_self(signal.SIGTERM)     # the operator cancels while the switch is under way
        return real(module_name, module_args, task_vars)

    result, dummy, sent = run_guard(clock, execute, minutes=1, interval=5, unavailable_seconds=0)
    assert len(host.switch_calls()) == 1 and result["switch"]["state"] == "confirmed"
    assert result["outcome"] == "switch_pulled"
    assert host.events()[-1] == "GUARD_END" and host.records[-1]["fields"]["signal"] == "SIGTERM"
    assert host.records[-1]["fields"]["outcome"] == "switch_pulled"
    assert result["msg"].endswith("\nthe guard was then canceled by SIGTERM: it stopped watching")
