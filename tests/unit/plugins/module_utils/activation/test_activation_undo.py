"""A rollback undoes the recorded activations it takes away
(activation.record.undo_entries): marked in the state file and audited,
after which the gates no longer count them; one it leaves in place stays.
And a restore that must go on when its audit records cannot be written
(the automatic rollback of a failed activation, on a full disk)."""

from __future__ import annotations

import errno
import json
import os

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import activation, audit_log, restore, restore_ledger, rollback_cli, snapshot
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import facts as activation_facts
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import ledger as activation_ledger
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import plan as activation_plan
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import change as activation_change
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import record as activation_record

from ansible_collections.nexus_cos.launch.tests.unit.utils.gateway_double import sample_repo

RUN_A = "20261128T103000Z-aaaaaa"
RUN_B = "20261129T103000Z-bbbbbb"
ROLLBACK_RUN = "20261201T090000Z-rollbk"


class Platform(object):
    """The sample repository, an audit dir and a backup dir, with step 1 of
    the marketplace applied and recorded the way the plays do it."""

    def __init__(self, tmp_path):
        repo = sample_repo(tmp_path)
        self.flag_store, self.pf_dir = repo["flag_store"], repo["pf_dir"]
        self.audit_dir = str(tmp_path / "audit")
        self.backup_dir = str(tmp_path / "backups")
        self.state_file = os.path.join(self.audit_dir, activation.STATE_FILE)
        self.files = [self.flag_store] + [os.path.join(self.pf_dir, n) for n in activation.PF_FILES]

    def snapshot(self, run_id):
        return snapshot.take(self.files, self.backup_dir, run_id, run_id[:16])

    def apply_step_1(self, snapshot_run=None):
        """Step 1's writes, predicted into ``snapshot_run``'s snapshot first
        as the plays do."""
        store = activation_plan.load_store(activation_facts.read_flag_store(self.flag_store)["document"])
        facts = {"flag_store": activation_facts.read_flag_store(self.flag_store),
                 "pfs": activation_facts.read_pfs(self.pf_dir)}
        dummy, pfs = activation_facts.facts_documents(facts)
        plan = activation_plan.marketplace_plan(1, store)
        settings = [{"file": name, "settings": values} for name, values in plan.settings_for(pfs).items()]
        request = activation_change.Request(enable=plan.enable, pf_settings=settings)
        change = activation_change.prepare(self.flag_store, self.pf_dir, request)
        if snapshot_run:
            activation_change.predict_after(os.path.join(self.backup_dir, snapshot_run[:16]), change.texts,
                                            snapshot_run)
        activation_change.write(change, self.flag_store, self.pf_dir, request)

    def record(self, key, run_id):
        entry = activation_ledger.new_entry(key, 1795861800, run_id, "activation-%s.log" % run_id[:16])
        log = audit_log.AuditLog(self.audit_dir, run_id, "activation-%s.log" % run_id[:16])
        activation_record.append(self.state_file, entry, log)
        return entry

    def restore(self, run_id, audit_errors=None):
        log = audit_log.AuditLog(self.audit_dir, ROLLBACK_RUN, "rollback-%s.log" % ROLLBACK_RUN[:16])
        undo = restore_ledger.undo_activations(self.state_file, ROLLBACK_RUN, log)
        context = restore.RestoreContext(audit=log, audit_errors=audit_errors, on_restored=undo)
        return restore.restore(os.path.join(self.backup_dir, run_id[:16]), context)

    def entries(self):
        with open(self.state_file) as handle:
            return json.load(handle)["activations"]

    def verified(self):
        return activation_record.verify_entries(self.entries(), self.audit_dir)


@pytest.fixture
def platform(tmp_path):
    return Platform(tmp_path)


def test_a_rollback_marks_the_activation_it_takes_away_undone_and_audits_it(platform):
    platform.snapshot(RUN_A)
    platform.apply_step_1(RUN_A)
    platform.record("marketplace_step_1", RUN_A)
    result = platform.restore(RUN_A)
    assert result["restored"] and result["undone"] == [{"key": "marketplace_step_1", "run_id": RUN_A}]
    [entry] = platform.verified()
    assert entry["audit_verified"] and entry["undone"]["by_run"] == ROLLBACK_RUN
    assert entry["undone"]["snapshot"] == RUN_A[:16]
    # The gates skip it; the next gate says why.
    assert activation_ledger.latest_entries([entry]) == {}
    records = [e.record for e in audit_log.read_trail(platform.audit_dir)[0]]
    [undone] = [r for r in records if r.event == "ACTIVATION_UNDONE"]
    assert undone.run == ROLLBACK_RUN and undone.fields["activation_run"] == RUN_A
    assert undone.fields["key"] == "marketplace_step_1" and entry["undone"]["audit_seq"] == undone.seq
    assert audit_log.verify_dir(platform.audit_dir).ok


def test_an_activation_recorded_before_the_snapshot_stays(platform):
    platform.snapshot(RUN_A)
    platform.apply_step_1(RUN_A)
    platform.record("marketplace_step_1", RUN_A)
    platform.snapshot(RUN_B)       # a later run's snapshot, step 1 in it
    result = platform.restore(RUN_B)
    assert result["state"] == "already-restored" and result["undone"] == []
    assert "undone" not in platform.entries()[0]


def test_an_activation_whose_change_the_restore_leaves_in_place_stays(platform):
    """Step 1 applied by a run that never recorded it, then recorded by the
    next run, which changed nothing: restoring that run's snapshot leaves
    step 1 in place, so its record still tells the truth."""
    platform.apply_step_1()
    platform.snapshot(RUN_B)
    platform.record("marketplace_step_1", RUN_B)
    result = platform.restore(RUN_B)
    assert result["undone"] == [] and "undone" not in platform.entries()[0]


def test_a_second_rollback_marks_nothing_twice(platform):
    platform.snapshot(RUN_A)
    platform.apply_step_1(RUN_A)
    platform.record("marketplace_step_1", RUN_A)
    platform.restore(RUN_A)
    first = platform.entries()[0]["undone"]
    assert platform.restore(RUN_A)["undone"] == []
    assert platform.entries()[0]["undone"] == first


def test_the_rollback_script_marks_and_says_it(platform, capsys):
    platform.snapshot(RUN_A)
    platform.apply_step_1(RUN_A)
    platform.record("marketplace_step_1", RUN_A)
    assert rollback_cli.main(["restore", "--snapshot", os.path.join(platform.backup_dir, RUN_A[:16]),
                              "--audit-dir", platform.audit_dir, "--run-id", ROLLBACK_RUN]) == 0
    assert "undone                   marketplace_step_1 of run %s (the gates no longer count it)" % RUN_A \
        in capsys.readouterr().out
    assert platform.entries()[0]["undone"]["by_run"] == ROLLBACK_RUN


def test_an_entry_without_recorded_epoch_is_placed_by_its_run_stamp():
    taken = 1795861800.5
    assert activation_record.recorded_after({"run_id": "20261128T103001Z-x"}, taken, "other")
    assert not activation_record.recorded_after({"run_id": "20261128T102959Z-x"}, taken, "other")
    assert not activation_record.recorded_after({"run_id": "change-4711"}, taken, "other")
    assert activation_record.recorded_after({"run_id": "change-4711"}, taken, "change-4711")


# ---------------------------------------------------------------- a full audit disk

def full_disk(monkeypatch):
    def records(self, events):
        raise OSError(errno.ENOSPC, "No space left on device", self.path)
    monkeypatch.setattr(audit_log.AuditLog, "records", records)


def test_a_restore_told_to_go_on_restores_without_its_records(platform, monkeypatch):
    platform.snapshot(RUN_A)
    before = dict((p, open(p, "rb").read()) for p in platform.files)
    platform.apply_step_1(RUN_A)
    full_disk(monkeypatch)
    errors = []
    result = platform.restore(RUN_A, audit_errors=errors)
    assert sorted(result["restored"]) == sorted([platform.flag_store, os.path.join(platform.pf_dir,
                                                                                   activation.MARKETPLACE_PF)])
    assert dict((p, open(p, "rb").read()) for p in platform.files) == before
    assert errors and all(e.startswith("no space left on device writing %s" % platform.audit_dir) for e in errors)


def test_a_restore_not_told_to_go_on_stops_before_any_file(platform, monkeypatch):
    platform.snapshot(RUN_A)
    platform.apply_step_1(RUN_A)
    after = dict((p, open(p, "rb").read()) for p in platform.files)
    full_disk(monkeypatch)
    with pytest.raises(OSError):
        platform.restore(RUN_A)
    assert dict((p, open(p, "rb").read()) for p in platform.files) == after
