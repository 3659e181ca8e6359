"""Action alert on the controller: one event to every channel, the outcome
audited on the host through a fake _execute_module (audit_record), and
never a failure, a URL or a token in what it returns or audits."""

from __future__ import annotations

import json
from unittest import mock

from ansible_collections.nexus_cos.launch.plugins.action import alert
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import alerts

TOKEN = "alert-test-token-77d0"
CHANNELS = [{"name": "ops", "type": "webhook", "url": "http://203.0.113.9:8099/hook", "token": TOKEN},
            {"name": "launch-room", "type": "slack", "url": "http://203.0.113.9:8099/services/T0/B0/" + TOKEN},
            {"name": "pager", "type": "webhook", "url": "http://203.0.113.9:9/", "timeout": 1}]
WHERE = {"audit_dir": "/var/log/nexus-cos/phase4-audit", "audit_file": "activation-20261201T100000Z.log",
         "run_id": "20261201T100000Z-aaaaaa", "host": "vps1"}


def run_alert(check_mode=False, failing=("pager",), audit_answer=None, **args):
    task = mock.MagicMock()
    task.args = dict(WHERE, channels=CHANNELS, event="launch_end", level="info",
                     text="global launch applied and confirmed by the gateway",
                     details={"activation": "launch_global", "state": "applied"})
    task.args.update(args)
    task.async_val, task.check_mode, task.diff = 0, check_mode, False
    action = alert.ActionModule(task, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock(),
                                mock.MagicMock())
    calls, sent = [], []

    def execute_module(module_name, module_args, task_vars):
        calls.append((module_name, dict(module_args)))
        return audit_answer or {"changed": True, "audit_head": {"seq": 7, "chain": "abc"}}

    def sender(channels, payload):
        sent.append((channels, payload))
        return [{"channel": c["name"], "type": c["type"], "ok": c["name"] not in failing,
                 "status": None if c["name"] in failing else 200,
                 "reason": "Connection refused" if c["name"] in failing else "", "elapsed_ms": 2} for c in channels]

    action._execute_module = execute_module
    action._sender = sender
    return action.run(task_vars={}), calls, sent


def test_one_event_to_every_channel_and_each_outcome_audited_by_name():
    result, calls, sent = run_alert()
    (channels, payload), = sent
    assert [c["name"] for c in channels] == ["ops", "launch-room", "pager"]
    assert {k: v for k, v in payload.items() if k != "at"} == {
        "source": "nexus_cos.launch", "event": "launch_end", "level": "info",
        "text": "global launch applied and confirmed by the gateway", "host": "vps1",
        "run_id": "20261201T100000Z-aaaaaa", "details": {"activation": "launch_global", "state": "applied"},
        "severity": "low", "action": "trigger", "dedup_key": alerts.incident_key("launch_end", "vps1", "20261201T100000Z-aaaaaa")}
    assert result["severity"] == "low"
    assert result["lines"] == ["alert launch_end sent to webhook ops, slack launch-room",
                               "alert launch_end FAILED on webhook pager (Connection refused); the run goes on"]
    assert "failed" not in result and result["changed"] is False
    (name, args), = calls
    assert name == "nexus_cos.launch.audit_record"
    assert args["audit_file"] == WHERE["audit_file"] and args["run_id"] == WHERE["run_id"]
    assert args["audit_events"] == [
        {"event": "ALERT_SENT", "fields": {"alert": "launch_end", "channel": "ops", "type": "webhook", "status": 200,
                                           "elapsed_ms": 2, "severity": "low"}},
        {"event": "ALERT_SENT", "fields": {"alert": "launch_end", "channel": "launch-room", "type": "slack",
                                           "status": 200, "elapsed_ms": 2, "severity": "low"}},
        {"event": "ALERT_FAILED", "fields": {"alert": "launch_end", "channel": "pager", "type": "webhook",
                                             "reason": "Connection refused", "elapsed_ms": 2, "severity": "low"}}]
    assert result["audit_head"] == {"seq": 7, "chain": "abc"}
    shown = json.dumps([result, calls])
    assert TOKEN not in shown and "203.0.113.9" not in shown


def test_no_channels_sends_nothing_audits_nothing_and_says_one_line():
    result, calls, sent = run_alert(channels=[])
    assert sent == [] and calls == []
    assert result["lines"] == ["alert launch_end: no channels (nexus_alert_channels is empty), nothing sent"]


def test_unusable_definitions_are_reported_and_audited_never_raised():
    result, calls, sent = run_alert(channels=[{"name": "ops", "type": "pager", "url": "http://x/" + TOKEN}])
    assert sent == [] and "failed" not in result
    assert result["lines"] == ["alert launch_end NOT sent: nexus_alert_channels[0] (ops).type: expected one of "
                               "webhook, slack, pagerduty, alertmanager, found 'pager'; the run goes on"]
    assert calls[0][1]["audit_events"] == [{"event": "ALERT_FAILED", "fields": {
        "alert": "launch_end", "channel": "-", "type": "-", "elapsed_ms": 0,
        "reason": "nexus_alert_channels[0] (ops).type: expected one of webhook, slack, pagerduty, alertmanager, found 'pager'"}}]


def test_a_record_that_cannot_be_written_is_shown_and_the_run_goes_on():
    result, dummy, dummy_sent = run_alert(audit_answer={"failed": True, "msg": "audit_record: /var/log/nexus-cos: No space left"})
    assert "failed" not in result
    assert result["lines"][-1] == ("AUDIT RECORD NOT WRITTEN: records ALERT_SENT, ALERT_SENT, ALERT_FAILED not written "
                                   "to activation-20261201T100000Z.log: audit_record: /var/log/nexus-cos: No space left")


def test_check_mode_sends_nothing():
    result, calls, sent = run_alert(check_mode=True)
    assert sent == [] and calls == [] and result["lines"] == ["alert launch_end: not sent in check mode"]


def test_a_bad_event_is_returned_not_failed():
    result, calls, sent = run_alert(event="launch_party")
    assert sent == [] and calls == [] and "failed" not in result
    assert result["lines"][0].startswith("alert launch_party NOT sent: event 'launch_party': expected one of launch_start")


def test_the_kill_switch_event_in_the_switchs_own_words():
    switch = {"changed": True, "confirmed": True, "lock": "acquired", "run_id": "20261201T101500Z-bbbbbb",
              "seen_text": "access mode founder_beta, 9 flags, marketplace phase 0",
              "rollback_script": "/var/log/nexus-cos/phase4-audit/rollback-20261201T101500Z.sh"}
    dummy, dummy_shown, sent = run_alert(event="kill_switch", switch=switch, text="", details={"reason": "fraud wave"})
    payload = sent[0][1]
    assert payload["level"] == "critical"
    assert payload["text"] == ("emergency switch pulled and confirmed: the gateway serves access mode founder_beta, "
                               "9 flags, marketplace phase 0")
    assert payload["details"] == {"state": "confirmed", "reason": "fraud wave", "switch_run": "20261201T101500Z-bbbbbb",
                                  "rollback_script": "/var/log/nexus-cos/phase4-audit/rollback-20261201T101500Z.sh"}
