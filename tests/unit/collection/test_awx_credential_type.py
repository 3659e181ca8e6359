# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The shipped AWX credential type for launch approvals: its injectors,
rendered as AWX renders them (a sandboxed Jinja environment, the file
template written 0600, tower.filename naming it), give the approvals loader
a file it accepts, and the secrets never go to extra vars."""

from __future__ import annotations

import os

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import ActivationError
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import approvals
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

PATH = os.path.join(ROOT, "extensions", "awx", "credential_types", "nexus_launch_approvers.yml")
RUN = "20261201T100000Z-a1b2c3"
NOW = 1796119200.0      # 2026-12-01T10:00:00Z
NONCE = "0123456789abcdef" * 2
TRICKY = 'al"ice\\ {{ no }} </s>\n'     # quotes, a backslash, braces, markup, a newline


def credential_type():
    with open(PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def inject(tmp_path, inputs):
    """The job's environment, as AWX builds it from the credential's inputs."""
    injectors = credential_type()["injectors"]
    sandbox = ImmutableSandboxedEnvironment()
    files = {}
    for key, template in injectors.get("file", {}).items():
        path = tmp_path / key.split(".", 1)[1]
        path.write_text(sandbox.from_string(template).render(**inputs))
        os.chmod(path, 0o600)
        files[key.split(".", 1)[1]] = str(path)
    namespace = dict(inputs, tower={"filename": files})
    return dict((name, sandbox.from_string(value).render(**namespace)) for name, value in injectors["env"].items())


def inputs(**changes):
    return dict({"run_id": RUN, "issued_at": "2026-12-01T09:59:00Z", "nonce": NONCE, "approver_1": "alice",
                 "approver_1_secret": TRICKY, "approver_2": "bob", "approver_2_secret": "bob-s3cret"}, **changes)


def test_the_injected_file_is_accepted_and_the_secrets_verify(tmp_path):
    env = inject(tmp_path, inputs())
    assert list(env) == [approvals.SECRETS_FILE_ENV]
    secrets, accepted = approvals.read_bound_approvals(RUN, {}, now=NOW, environ=env)
    assert secrets == {"alice": TRICKY, "bob": "bob-s3cret"}
    assert accepted == {"nonce_sha256": approvals.nonce_hash(NONCE), "issued_at": "2026-12-01T09:59:00Z"}
    given = approvals.resolve_secrets([{"name": "alice"}, {"name": "bob"}], environ={}, from_file=secrets)
    approvers = {"alice": {"role": "founder", "password_hash": "h-" + TRICKY},
                 "bob": {"role": "technical_lead", "password_hash": "h-bob-s3cret"}}
    approved, problems = approvals.verify_approvals(given, approvers, ["founder", "technical_lead"],
                                                    verify=lambda secret, hashed: hashed == "h-" + secret)
    assert problems == [] and approved == [{"name": "alice", "role": "founder"}, {"name": "bob", "role": "technical_lead"}]


def test_a_third_approver_is_included_only_when_given(tmp_path):
    env = inject(tmp_path, inputs(approver_3="carol", approver_3_secret="carol-s3cret"))
    secrets = approvals.read_bound_approvals(RUN, {}, now=NOW, environ=env)[0]
    assert secrets == {"alice": TRICKY, "bob": "bob-s3cret", "carol": "carol-s3cret"}
    for index, unset in enumerate(({}, {"approver_3": ""})):
        (tmp_path / str(index)).mkdir()
        env = inject(tmp_path / str(index), inputs(**unset))
        assert sorted(approvals.read_bound_approvals(RUN, {}, now=NOW, environ=env)[0]) == ["alice", "bob"]


def test_a_credential_for_another_run_is_refused_by_the_loader(tmp_path):
    env = inject(tmp_path, inputs(run_id="20261130T100000Z-ffffff"))
    with pytest.raises(ActivationError) as raised:
        approvals.read_bound_approvals(RUN, {}, now=NOW, environ=env)
    assert "approves run 20261130T100000Z-ffffff, not this run %s" % RUN in str(raised.value)
    assert TRICKY not in str(raised.value) and NONCE not in str(raised.value)


def test_secrets_are_secret_fields_and_never_extra_vars():
    definition = credential_type()
    fields = dict((f["id"], f) for f in definition["inputs"]["fields"])
    assert set(definition["injectors"]) == {"file", "env"}          # no extra_vars: the job would show them
    for name in ("nonce", "approver_1_secret", "approver_2_secret", "approver_3_secret"):
        assert fields[name].get("secret") is True, name
    assert set(definition["inputs"]["required"]) <= set(fields)
