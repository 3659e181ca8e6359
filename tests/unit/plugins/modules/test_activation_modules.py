"""The activation's host modules run in-process, each with one job:
activation_info reads the host's facts and cross-checks recorded activations
with the audit trail; the change is what activation_verify does with
feature_flag (all flags in one write) and pf_setting, after snapshot_after
recorded their check-mode hashes; activation_record writes the audit record
then the state file; audit_record writes only what it is given. Also the
approval secret lookup of the activation_gate action plugin (the gate itself:
tests/unit/plugins/action/test_activation_gate_action.py)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import activation
from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, flag_store, snapshot
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import gate as activation_gates
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import ledger as activation_ledger
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import plan as activation_plan
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import runs as activation_runs
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import status as activation_status
from ansible_collections.nexus_cos.launch.plugins.modules import (activation_record, audit_record, feature_flag,
                                                                  pf_setting, snapshot_after)
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import approvals
from ansible_collections.nexus_cos.launch.tests.unit.utils.activation_host import (
    AUDIT_FILE, base, new_host, run, RUN, write_prepare_run)
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import PLATFORM_FIXTURES

pytestmark = pytest.mark.usefixtures("module_exits")


@pytest.fixture
def host(tmp_path):
    return new_host(tmp_path)


def record_step(host, key="marketplace_step_1", applied_at=1795861800):
    entry = activation_ledger.new_entry(key, applied_at, RUN, AUDIT_FILE)
    return run({"audit_dir": host["audit_dir"], "entry": entry, "run_id": RUN, "audit_file": AUDIT_FILE},
               module=activation_record)


def test_query_reads_everything_and_changes_nothing(host):
    write_prepare_run(host)
    before = open(host["flag_store"], "rb").read()
    facts = run(base(host))
    assert facts["changed"] is False
    assert facts["flag_store"]["error"] is None
    assert facts["flag_store"]["document"]["feature_flags"]["FOUNDER_BETA_MODE"]["enabled"] is True
    assert set(facts["pfs"]) == set(activation.PF_FILES)
    assert facts["pfs"]["global-launch.yaml"]["document"]["deployment"]["team_approval"] == "founder_and_technical_lead"
    assert facts["activations"] == [] and facts["state_error"] is None
    assert facts["runs"][0]["playbook"] == "phase4" and facts["runs"][0]["precheck_status"] == "pass"
    assert activation_runs.check_prepare_run(facts["runs"], facts["runs"][0]["completed"] + 60, 24)[0] is None
    assert open(host["flag_store"], "rb").read() == before


def test_record_then_query_cross_checks_the_audit_record(host):
    out = record_step(host)
    assert out["changed"] is True and out["entry"]["audit_seq"] == 1
    state = json.load(open(os.path.join(host["audit_dir"], activation.STATE_FILE)))
    assert state["activations"][0]["key"] == "marketplace_step_1"
    assert oct(os.stat(os.path.join(host["audit_dir"], activation.STATE_FILE)).st_mode & 0o777) == "0o640"
    facts = run(base(host))
    assert facts["activations"][0]["audit_verified"] is True
    assert audit_log.verify_dir(host["audit_dir"]).ok


def test_an_edited_state_file_is_not_believed(host):
    record_step(host)
    path = os.path.join(host["audit_dir"], activation.STATE_FILE)
    state = json.load(open(path))
    state["activations"][0]["applied_at"] -= 8 * 86400      # pretend step 1 ran a week earlier
    json.dump(state, open(path, "w"))
    entry = run(base(host))["activations"][0]
    assert entry["audit_verified"] is False
    assert entry["audit_problem"] == "applied_at is 1795861800, expected 1795170600"


def test_an_entry_without_its_record_is_not_believed(host):
    record_step(host)
    path = os.path.join(host["audit_dir"], activation.STATE_FILE)
    state = json.load(open(path))
    state["activations"].append(dict(state["activations"][0], key="marketplace_step_2", audit_seq=99))
    json.dump(state, open(path, "w"))
    entries = run(base(host))["activations"]
    assert entries[1]["audit_problem"] == "no record seq 99 in %s" % AUDIT_FILE


def test_a_broken_state_file_is_reported_not_overwritten(host):
    os.makedirs(host["audit_dir"])
    path = os.path.join(host["audit_dir"], activation.STATE_FILE)
    open(path, "w").write("{not json")
    assert "cannot read the activation state" in run(base(host))["state_error"]
    out = record_step(host)
    assert out["failed"] and open(path).read() == "{not json"
    assert audit_log.read_trail(host["audit_dir"])[0] == []


def test_record_refuses_without_the_lock_or_an_audit_file(host, tmp_path):
    entry = activation_ledger.new_entry("marketplace_step_1", 1795861800, RUN, AUDIT_FILE)
    out = run({"audit_dir": host["audit_dir"], "entry": entry, "run_id": RUN, "audit_file": AUDIT_FILE,
               "lock_path": str(tmp_path / "deploy.lock")}, module=activation_record)
    assert out["failed"] and "does not hold the deployment lock" in out["msg"]
    out = run({"audit_dir": host["audit_dir"], "entry": entry}, module=activation_record)
    assert out["failed"] and out["msg"].startswith("audit_dir and audit_file are required")
    assert not os.path.exists(os.path.join(host["audit_dir"], activation.STATE_FILE))


def test_record_in_check_mode_writes_nothing(host):
    entry = activation_ledger.new_entry("marketplace_step_1", 1795861800, RUN, AUDIT_FILE)
    out = run({"audit_dir": host["audit_dir"], "entry": entry, "run_id": RUN, "audit_file": AUDIT_FILE},
              check=True, module=activation_record)
    assert out["changed"] is False and not os.path.exists(host["audit_dir"])


def take_snapshot(host):
    files = [host["flag_store"]] + [os.path.join(host["pf_dir"], n) for n in activation.PF_FILES]
    snapshot.take(files, str(host["backup"]), RUN, RUN[:16])
    return os.path.join(str(host["backup"]), RUN[:16])


LAUNCH_PF = [{"file": "global-launch.yaml", "settings": {"feature_flags.public_signup": True,
                                                         "visibility_control.seo_enabled": True}}]
LAUNCH_FLAGS = {"PUBLIC_FULL_LAUNCH_MODE": True, "JURISDICTION_ENGINE_ENABLED": True, "FOUNDER_BETA_MODE": False}
NOW = "2026-11-28T10:30:00Z"


def flag_args(host, flags=None, **extra):
    args = {"flag_store": host["flag_store"], "flags": flags or LAUNCH_FLAGS, "dependencies": "enable", "now": NOW}
    args.update(extra)
    return args


def pf_args(host, item, **extra):
    args = {"path": os.path.join(host["pf_dir"], item["file"]), "settings": item["settings"]}
    args.update(extra)
    return args


def run_audit_args(host, lock=None):
    args = {"audit_dir": host["audit_dir"], "audit_file": AUDIT_FILE, "run_id": RUN}
    if lock:
        args["lock_path"] = lock
    return args


def change(host, flags, pf_settings, snap=None, lock=None):
    """What role activation_verify does: the writers in check mode give the
    hashes, snapshot_after records them, then the writers write, each under
    the lock and audited. Returns (flags result, [PF results], prediction)."""
    predicted = [run(flag_args(host, flags), check=True, module=feature_flag)]
    predicted += [run(pf_args(host, item), check=True, module=pf_setting) for item in pf_settings]
    writes = dict((r["path"], r["sha256_after"]) for r in predicted if r["changed"])
    if snap:
        out = run(dict(run_audit_args(host, lock), snapshot=snap, predicted=writes), module=snapshot_after)
        assert not out.get("failed"), out
    flags_out = run(dict(flag_args(host, flags), **run_audit_args(host, lock)), module=feature_flag)
    pf_out = [run(dict(pf_args(host, item), **run_audit_args(host, lock)), module=pf_setting) for item in pf_settings]
    return flags_out, pf_out, writes


def test_the_change_in_check_mode_shows_diffs_and_writes_nothing(host):
    before = open(host["flag_store"], "rb").read()
    out = run(flag_args(host), check=True, diff=True, module=feature_flag)
    assert out["changed"] is True
    assert [c["name"] for c in out["changes"]] == ["FOUNDER_BETA_MODE", "PUBLIC_FULL_LAUNCH_MODE",
                                                   "JURISDICTION_ENGINE_ENABLED"]
    assert '"updated": "2026-11-28T10:30:00Z"' in out["diff"]["after"]
    pf_out = run(pf_args(host, LAUNCH_PF[0]), check=True, diff=True, module=pf_setting)
    assert pf_out["changed"] is True and "public_signup: true" in pf_out["diff"]["after"]
    assert open(host["flag_store"], "rb").read() == before
    assert not os.path.exists(host["audit_dir"])


def test_the_prediction_is_what_the_writes_leave(host):
    snap = take_snapshot(host)
    flags_out, pf_out, writes = change(host, LAUNCH_FLAGS, LAUNCH_PF, snap)
    assert flags_out["changed"] is True and flags_out["access_mode_after"] == "public_full"
    store = flag_store.load(host["flag_store"])
    assert store.access_mode() == "public_full" and store.data["updated"] == NOW
    predicted = json.load(open(os.path.join(snap, "after.json")))
    assert predicted["predicted"] is True
    assert set(writes) == {host["flag_store"], os.path.join(host["pf_dir"], "global-launch.yaml")}
    actual = dict((f["path"], f["sha256"]) for f in snapshot.record_after(snap)["files"])
    assert dict((f["path"], f["sha256"]) for f in predicted["files"]) == actual
    events = [r.record.event for r in audit_log.read_trail(host["audit_dir"])[0]]
    assert events == ["SNAPSHOT_AFTER_RECORDED", "FLAGS_CHANGED", "PF_SETTINGS_CHANGED"]
    flags_again, pf_again, writes_again = change(host, LAUNCH_FLAGS, LAUNCH_PF)
    assert flags_again["changed"] is False and [r["changed"] for r in pf_again] == [False]
    assert writes_again == {}


def test_the_writers_refuse_without_the_lock(host, tmp_path):
    before = open(host["flag_store"], "rb").read()
    lock = str(tmp_path / "deploy.lock")
    out = run(dict(flag_args(host), **run_audit_args(host, lock)), module=feature_flag)
    assert out["failed"] and "does not hold the deployment lock" in out["msg"] and "nothing was written" in out["msg"]
    out = run(dict(pf_args(host, LAUNCH_PF[0]), **run_audit_args(host, lock)), module=pf_setting)
    assert out["failed"] and "does not hold the deployment lock" in out["msg"]
    assert open(host["flag_store"], "rb").read() == before


def test_a_missing_pf_key_is_refused_before_anything_is_written(host):
    bad = {"file": "global-launch.yaml", "settings": {"feature_flags.no_such_key": True}}
    out = run(pf_args(host, bad), check=True, module=pf_setting)
    assert out["failed"] and "no_such_key" in out["msg"]


def test_audit_record_writes_only_the_given_events(host):
    args = {"audit_dir": host["audit_dir"], "run_id": RUN, "audit_file": AUDIT_FILE}
    out = run(dict(args, audit_events=[{"event": "GATE_FORCED", "fields": {"gate": "marketplace_step_2", "reason": "r"}}]),
              module=audit_record)
    assert out["changed"] is True and out["audit_head"]["seq"] == 1
    assert run(dict(args, audit_events=[{"event": "X", "fields": {}}]), check=True, module=audit_record) == {
        "changed": False}
    assert [r.record.event for r in audit_log.read_trail(host["audit_dir"])[0]] == ["GATE_FORCED"]


# ---------------------------------------------------------------- approval secrets (action plugin)

def test_secret_env_names():
    assert approvals.secret_env_name("alice") == "NEXUS_APPROVER_ALICE_SECRET"
    assert approvals.secret_env_name("j.doe-2") == "NEXUS_APPROVER_J_DOE_2_SECRET"


def test_secrets_come_from_the_item_the_file_or_the_environment():
    env = {"NEXUS_APPROVER_CAROL_SECRET": "from-env", "NEXUS_APPROVER_BOB_SECRET": "env-loses-to-file"}
    out = approvals.resolve_secrets([{"name": "alice", "secret": "given"}, {"name": "bob"}, "carol",
                                     {"name": "dave"}], env, from_file={"bob": "from-file"})
    assert out == [{"name": "alice", "secret": "given"}, {"name": "bob", "secret": "from-file"},
                   {"name": "carol", "secret": "from-env"}, {"name": "dave"}]


# ---------------------------------------------------------------- the platform's own files

SHARED = PLATFORM_FIXTURES


@pytest.mark.skipif(not os.path.isdir(os.path.join(SHARED, "pfs")), reason="shared platform fixtures absent")
def test_every_activation_applies_to_the_platforms_real_files(tmp_path):
    """Each plan finds its keys in the platform's own PF files (which have
    keys the sandbox sample lacks) and applies in order, step 1 to the
    emergency switch, on a copy."""
    repo = tmp_path / "repo"
    shutil.copytree(SHARED, repo)
    host = {"flag_store": str(repo / "config" / "feature-flags.json"), "pf_dir": str(repo / "pfs"),
            "audit_dir": str(tmp_path / "audit")}
    write_prepare_run(host)
    t0 = run(base(host))["runs"][0]["completed"]
    plans = [("marketplace", 1, t0), ("marketplace", 2, t0 + 8 * 86400), ("marketplace", 3, t0 + 16 * 86400),
             ("launch", "global", t0 + 60), ("marketplace", 4, t0 + 17 * 86400), ("emergency", None, t0 + 18 * 86400)]
    for kind, arg, now in plans:
        facts = run(base(host))
        if kind == "marketplace":
            decision = activation_gates.evaluate_marketplace(arg, facts, clock_override=now)
        elif kind == "launch":
            gates = facts["pfs"]["global-launch.yaml"]["document"]["launch_gates"]["required_validations"]
            decision = activation_gates.evaluate_launch(
                arg, facts, confirm=True,
                check_approvals=lambda roles: ([{"name": "a", "role": roles[0]}, {"name": "b", "role": roles[1]}], []),
                waivers=dict((g["name"], "test") for g in gates), clock_override=t0 + 60)
        else:
            decision = activation_gates.evaluate_emergency(facts, clock_override=now)
        assert decision.open, (kind, arg, decision.message())
        out = decision.as_dict()
        flags_out = run({"flag_store": host["flag_store"], "flags": out["flags"], "dependencies": "enable",
                         "cascade": out["cascade"], "now": out["now_utc"]}, module=feature_flag)
        assert not flags_out.get("failed"), flags_out
        for item in out["pf_settings"]:
            applied = run({"path": os.path.join(host["pf_dir"], item["file"]), "settings": item["settings"]},
                          module=pf_setting)
            assert not applied.get("failed"), applied
        entry = activation_ledger.new_entry(out["key"], decision.now, RUN, AUDIT_FILE)
        run({"audit_dir": host["audit_dir"], "entry": entry, "run_id": RUN, "audit_file": AUDIT_FILE},
            module=activation_record)
        store = activation_plan.load_store(flag_store.load(host["flag_store"]).data)
        assert activation_plan.gateway_state(store)["access_mode"] == out["expect"]["access_mode"]
        settings = dict((item["file"], item["settings"]) for item in out["pf_settings"])
        if kind == "launch":
            assert "feature_flags.component_visibility.signup_form" in settings["global-launch.yaml"]
        if kind == "marketplace" and arg == 4:
            assert settings["marketplace-phase3.yaml"]["marketplace.trading_features.auction_system.enabled"] is True
            assert "controls.transaction_monitoring.real_time_analysis" in settings["marketplace-phase3.yaml"]
    final = run(base(host))
    assert activation_status.status_summary(final)["access_mode"] == "founder_beta"


def test_many_activation_runs_do_not_hide_the_prepare_run(host):
    write_prepare_run(host)
    for n in range(5):
        log = audit_log.AuditLog(host["audit_dir"], "20261129T0000%02dZ-act%03d" % (n, n),
                                 "activation-20261129T0000%02dZ.log" % n)
        log.records([("DEPLOYMENT_START", {"playbook": "marketplace"}), ("DEPLOYMENT_COMPLETE", {"status": "success"})])
    runs = run(base(host, runs_limit=2))["runs"]
    assert [r["kind"] for r in runs] == ["activation", "activation", "deployment"]
    assert activation_runs.check_prepare_run(runs, runs[-1]["completed"] + 60, 24)[0] is None
