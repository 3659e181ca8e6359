"""The recorded activations as the gates read them
(module_utils/activation/ledger.py): an entry checked against its audit
record, the entries that count, a new entry and its audit fields."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import ledger

DAY = 86400
T0 = 1795862400            # 2026-11-28 10:40:00 UTC
T_STEP1 = 1795861800       # 2026-11-28 10:30:00 UTC


def entry(key, applied_at, verified=True, run_id="20261128T103000Z-bbbbbb"):
    return {"key": key, "applied_at": applied_at, "run_id": run_id, "audit_verified": verified,
            "audit_problem": None if verified else "no record seq 9 in activation-x.log"}


# ---------------------------------------------------------------- audit cross-check

def test_entry_matches_its_record():
    e = {"key": "marketplace_step_1", "applied_at": T_STEP1, "run_id": "r1"}
    fields = {"key": "marketplace_step_1", "applied_at": str(T_STEP1)}
    assert ledger.check_entry_against_record(e, fields, "ACTIVATION_STEP_APPLIED", "r1", True) is None


@pytest.mark.parametrize("change, problem", [
    (dict(event="DEPLOYMENT_START"), "event is DEPLOYMENT_START, expected ACTIVATION_STEP_APPLIED"),
    (dict(run="r2"), "run is r2, expected r1"),
    (dict(applied_at=str(T_STEP1 - DAY)), "applied_at is %d, expected %d" % (T_STEP1 - DAY, T_STEP1)),
    (dict(chain_ok=False), "its chain hash does not match its content"),
])
def test_entry_differs_from_its_record(change, problem):
    e = {"key": "marketplace_step_1", "applied_at": T_STEP1, "run_id": "r1"}
    args = dict(fields={"key": "marketplace_step_1", "applied_at": str(T_STEP1)}, event="ACTIVATION_STEP_APPLIED",
                run="r1", chain_ok=True)
    if "applied_at" in change:
        args["fields"] = dict(args["fields"], applied_at=change.pop("applied_at"))
    args.update(change)
    assert ledger.check_entry_against_record(e, args["fields"], args["event"], args["run"], args["chain_ok"]) == problem


def test_latest_entries_ignore_unverified_ones():
    entries = [entry("marketplace_step_1", 100), entry("marketplace_step_1", 300, verified=False),
               entry("marketplace_step_1", 200)]
    assert ledger.latest_entries(entries)["marketplace_step_1"]["applied_at"] == 200
    assert ledger.newest_entry(entries, "marketplace_step_1")["applied_at"] == 300


def test_new_entry_and_its_audit_fields():
    e = ledger.new_entry("launch_global", T0, "r1", "activation-20261128T104000Z.log", forced_reason="",
                         clock_override=True, details={"approvers": "alice:founder,bob:technical_lead"})
    assert e["audit_event"] == "ACTIVATION_STEP_APPLIED" and e["applied_at_utc"] == "2026-11-28T10:40:00Z"
    assert ledger.audit_fields(e) == {"key": "launch_global", "applied_at": T0, "applied_at_utc": "2026-11-28T10:40:00Z",
                                      "forced": False, "clock_override": True,
                                      "approvers": "alice:founder,bob:technical_lead"}
    assert ledger.new_entry("emergency", T0, "r", "f")["audit_event"] == "EMERGENCY_SWITCH"
