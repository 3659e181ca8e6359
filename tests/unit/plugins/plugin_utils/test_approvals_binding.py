# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Approvals bound to the run they approve: the approvals file must be the
controller user's and private, name this run, be fresh and carry a nonce the
trail has not accepted before. No message shows a secret or the nonce."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import runs as activation_runs
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import ActivationError
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import approvals

RUN = "20261201T100000Z-a1b2c3"
NOW = 1796119200.0      # 2026-12-01T10:00:00Z


def write(tmp_path, document, mode=0o600):
    path = tmp_path / "approvals.json"
    path.write_text(json.dumps(document))
    os.chmod(path, mode)
    return str(path), {approvals.SECRETS_FILE_ENV: str(path)}


def bound(tmp_path, now=NOW, used=None, max_age=15, **changes):
    document = dict(approvals.new_approvals_file({"alice": "alice-s3cret"}, RUN, now=NOW - 60), **changes)
    path, env = write(tmp_path, document)
    return document, path, lambda: approvals.read_bound_approvals(RUN, used or {}, max_age, now=now, environ=env)


def refusal(read):
    with pytest.raises(ActivationError) as raised:
        read()
    assert "alice-s3cret" not in str(raised.value)
    return str(raised.value)


def test_a_fresh_private_file_for_this_run_gives_its_secrets_and_the_nonce_hash(tmp_path):
    document, path, read = bound(tmp_path)
    secrets, accepted = read()
    assert secrets == {"alice": "alice-s3cret"}
    assert accepted == {"nonce_sha256": approvals.nonce_hash(document["nonce"]), "issued_at": "2026-12-01T09:59:00Z"}
    assert document["nonce"] not in json.dumps(accepted)


def test_an_approval_older_than_the_max_age_is_refused(tmp_path):
    document, path, read = bound(tmp_path, now=NOW + 15 * 60)
    assert refusal(read) == (
        "NEXUS_LAUNCH_APPROVALS_FILE=%s was issued at 2026-12-01T09:59:00Z, 16 minutes ago; approvals expire after "
        "15 minutes (activation_gate_approval_max_age_minutes): approve again (nexusctl launch asks the approvers for "
        "this run)" % path)
    assert bound(tmp_path, now=NOW + 15 * 60, max_age=20)[2]()[0] == {"alice": "alice-s3cret"}


def test_an_approval_from_the_future_is_refused(tmp_path):
    document, path, read = bound(tmp_path, now=NOW - 600)
    assert "was issued at 2026-12-01T09:59:00Z, 540 s after the controller's clock" in refusal(read)


def test_an_approval_already_used_is_refused_naming_the_earlier_run(tmp_path):
    document = approvals.new_approvals_file({"alice": "alice-s3cret"}, RUN, now=NOW)
    runs = [{"run_id": "20261201T094500Z-0ld000", "approvals_nonce": approvals.nonce_hash(document["nonce"])},
            {"run_id": "other"}]
    path, env = write(tmp_path, document)
    message = refusal(lambda: approvals.read_bound_approvals(RUN, approvals.used_nonces(runs), now=NOW, environ=env))
    assert message == ("NEXUS_LAUNCH_APPROVALS_FILE=%s: these approvals were already used by run 20261201T094500Z-0ld000 "
                       "(APPROVALS_ACCEPTED in its audit trail); an approval is good for one run: approve again "
                       "(nexusctl launch asks the approvers for this run)" % path)


def test_approvals_of_another_run_are_refused(tmp_path):
    document, path, read = bound(tmp_path, run_id="20261130T100000Z-ffffff")
    assert refusal(read) == ("NEXUS_LAUNCH_APPROVALS_FILE=%s approves run 20261130T100000Z-ffffff, not this run %s; "
                             "approvals are bound to the run they approve: approve again (nexusctl launch asks the "
                             "approvers for this run)" % (path, RUN))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_file_others_can_read_is_refused_with_the_fix(tmp_path, mode):
    path, env = write(tmp_path, approvals.new_approvals_file({"alice": "alice-s3cret"}, RUN, now=NOW), mode=mode)
    assert refusal(lambda: approvals.read_bound_approvals(RUN, {}, now=NOW, environ=env)) == (
        "NEXUS_LAUNCH_APPROVALS_FILE=%s is mode %04o, open to group or others; expected 0600 (only its owner): "
        "chmod 600 %s" % (path, mode, path))


def test_a_file_of_another_user_is_refused(tmp_path, monkeypatch):
    path, env = write(tmp_path, approvals.new_approvals_file({"alice": "alice-s3cret"}, RUN, now=NOW))
    owner = os.stat(path).st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    assert refusal(lambda: approvals.read_bound_approvals(RUN, {}, now=NOW, environ=env)) == (
        "NEXUS_LAUNCH_APPROVALS_FILE=%s is owned by uid %d, not by uid %d that runs the controller; expected a file "
        "of your own, mode 0600: write it again as that user, then chmod 600 %s" % (path, owner, owner + 1, path))


def test_an_unbound_file_or_none_is_refused(tmp_path):
    path, env = write(tmp_path, {"alice": "alice-s3cret"})
    message = refusal(lambda: approvals.read_bound_approvals(RUN, {}, now=NOW, environ=env))
    assert message.startswith("NEXUS_LAUNCH_APPROVALS_FILE=%s has no issued_at, nonce and run_id; approvals are bound "
                              "to one run and expire: expected {\"issued_at\": " % path)
    assert refusal(lambda: approvals.read_bound_approvals(RUN, {}, now=NOW, environ={})).startswith(
        "no approvals file: approvals are bound to the run they approve and expire; nexusctl launch --approver NAME "
        "writes one for its run")
    for bad, what in (({"nonce": "short"}, "nonce is not 32 to 128 lowercase hex digits"),
                      ({"issued_at": "yesterday"}, "issued_at: expected an ISO 8601 timestamp"),
                      ({"secrets": ["alice-s3cret"]}, "secrets is not a mapping of approver names to secrets")):
        assert what in refusal(bound(tmp_path, **bad)[2])
    os.unlink(path)
    assert "cannot read the approvals file (No such file or directory)" in refusal(
        lambda: approvals.read_bound_approvals(RUN, {}, now=NOW, environ=env))


def test_a_symlinked_file_is_not_followed(tmp_path):
    path, env = write(tmp_path, approvals.new_approvals_file({"alice": "alice-s3cret"}, RUN, now=NOW))
    link = tmp_path / "link.json"
    link.symlink_to(path)
    message = refusal(lambda: approvals.read_bound_approvals(RUN, {}, now=NOW,
                                                             environ={approvals.SECRETS_FILE_ENV: str(link)}))
    assert message.startswith("NEXUS_LAUNCH_APPROVALS_FILE=%s: cannot read the approvals file" % link)


def test_a_run_summary_carries_the_accepted_nonce():
    summary = activation_runs.summarize_run([
        ("DEPLOYMENT_START", {"playbook": "launch"}, NOW, RUN),
        ("APPROVALS_ACCEPTED", {"nonce_sha256": "ab" * 32, "issued_at": "2026-12-01T09:59:00Z",
                                "approvers": "alice,bob"}, NOW, RUN)])
    assert summary["approvals_nonce"] == "ab" * 32
    assert approvals.used_nonces([dict(summary, run_id=RUN)]) == {"ab" * 32: RUN}
