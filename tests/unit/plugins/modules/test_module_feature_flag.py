# -*- coding: utf-8 -*-
"""The feature_flag module, run in-process the way community.general tests modules."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from ansible.module_utils.common import arg_spec

from ansible_collections.nexus_cos.launch.plugins.modules import feature_flag

from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import module_failed, module_succeeded

NOW = '2025-03-01T12:00:00Z'


pytestmark = pytest.mark.usefixtures('module_exits')


def succeeded(args):
    return module_succeeded(feature_flag.main, args)


def failed(args):
    return module_failed(feature_flag.main, args)


# --- fixtures --------------------------------------------------------------


def flag(enabled=False, requires=()):
    return {'enabled': enabled, 'description': 'd', 'type': 'boolean', 'default': False,
            'category': 'c', 'requires': list(requires)}


@pytest.fixture
def store(tmp_path):
    path = tmp_path / 'feature-flags.json'
    data = {
        'version': '1.0.0',
        'updated': '2025-01-01T00:00:00Z',
        'feature_flags': {
            'EXCHANGE_PREVIEW': flag(),
            'EXCHANGE_TRADING': flag(requires=['EXCHANGE_PREVIEW']),
            'SIGNUPS_OPEN': flag(),
            'FOUNDER_BETA_MODE': flag(enabled=True),
            'PUBLIC_SOFT_LAUNCH_MODE': flag(),
            'PUBLIC_FULL_LAUNCH_MODE': flag(),
        },
        'access_modes': {},
    }
    path.write_text(json.dumps(data, indent=2) + '\n')
    return path


def flags_in(path):
    return dict((k, v['enabled']) for k, v in json.loads(path.read_text())['feature_flags'].items())


# --- tests -----------------------------------------------------------------


def test_enable_one_flag(store):
    result = succeeded({'flag_store': str(store), 'name': 'SIGNUPS_OPEN', 'now': NOW})
    assert result['changed'] is True
    assert result['changes'] == [{'name': 'SIGNUPS_OPEN', 'before': False, 'after': True}]
    assert result['effective'] == {'SIGNUPS_OPEN': True}
    assert result['updated'] == NOW
    assert result['access_mode_before'] == result['access_mode_after'] == 'founder_beta'
    assert flags_in(store)['SIGNUPS_OPEN'] is True
    assert 'diff' not in result and 'backup_file' not in result


def test_second_run_is_idempotent(store):
    succeeded({'flag_store': str(store), 'name': 'SIGNUPS_OPEN', 'now': NOW})
    os.utime(str(store), (1_000_000_000, 1_000_000_000))
    content = store.read_bytes()
    result = succeeded({'flag_store': str(store), 'name': 'SIGNUPS_OPEN', 'now': '2030-01-01T00:00:00Z'})
    assert result['changed'] is False
    assert result['changes'] == []
    assert store.read_bytes() == content
    assert os.stat(str(store)).st_mtime == 1_000_000_000
    assert result['updated'] == NOW


def test_missing_requires_refused_naming_them(store):
    before = store.read_bytes()
    result = failed({'flag_store': str(store), 'name': 'EXCHANGE_TRADING'})
    assert 'cannot enable EXCHANGE_TRADING: it requires EXCHANGE_PREVIEW' in result['msg']
    assert str(store) in result['msg']
    assert result['details'] == {'missing': {'EXCHANGE_TRADING': ['EXCHANGE_PREVIEW']}}
    assert store.read_bytes() == before


def test_dependencies_enable(store):
    result = succeeded({'flag_store': str(store), 'name': ['EXCHANGE_TRADING'], 'dependencies': 'enable', 'now': NOW})
    assert [c['name'] for c in result['changes']] == ['EXCHANGE_PREVIEW', 'EXCHANGE_TRADING']
    assert result['effective'] == {'EXCHANGE_TRADING': True, 'EXCHANGE_PREVIEW': True}


def test_unknown_flag_refused(store):
    result = failed({'flag_store': str(store), 'name': 'NOT_A_FLAG'})
    assert 'unknown flag: NOT_A_FLAG' in result['msg']
    assert result['details'] == {'unknown': ['NOT_A_FLAG']}


def test_disable_with_dependants_refused_then_cascade(store):
    succeeded({'flag_store': str(store), 'name': 'EXCHANGE_TRADING', 'dependencies': 'enable', 'now': NOW})
    result = failed({'flag_store': str(store), 'name': 'EXCHANGE_PREVIEW', 'state': 'disabled'})
    assert 'cannot disable EXCHANGE_PREVIEW (needed by EXCHANGE_TRADING)' in result['msg']
    result = succeeded({'flag_store': str(store), 'name': 'EXCHANGE_PREVIEW', 'state': 'disabled',
                        'cascade': True, 'now': NOW})
    assert result['changes'] == [
        {'name': 'EXCHANGE_TRADING', 'before': True, 'after': False},
        {'name': 'EXCHANGE_PREVIEW', 'before': True, 'after': False},
    ]
    assert result['effective'] == {'EXCHANGE_PREVIEW': False, 'EXCHANGE_TRADING': False}


def test_access_mode_reported(store):
    result = succeeded({'flag_store': str(store), 'name': 'PUBLIC_FULL_LAUNCH_MODE', 'now': NOW})
    assert result['access_mode_before'] == 'founder_beta'
    assert result['access_mode_after'] == 'public_full'


def test_check_mode_with_diff_leaves_file_untouched(store):
    before = store.read_bytes()
    mtime = os.stat(str(store)).st_mtime_ns
    result = succeeded({'flag_store': str(store), 'name': 'SIGNUPS_OPEN', 'now': NOW,
                        '_ansible_check_mode': True, '_ansible_diff': True})
    assert result['changed'] is True
    assert store.read_bytes() == before
    assert os.stat(str(store)).st_mtime_ns == mtime
    diff = result['diff']
    assert diff['before'] == before.decode()
    assert json.loads(diff['after'])['feature_flags']['SIGNUPS_OPEN']['enabled'] is True
    assert json.loads(diff['after'])['updated'] == NOW
    assert diff['before_header'] == diff['after_header'] == '%s (content)' % store
    assert sorted(os.listdir(str(store.parent))) == ['feature-flags.json']


def test_diff_when_nothing_changes(store):
    result = succeeded({'flag_store': str(store), 'name': 'FOUNDER_BETA_MODE', '_ansible_diff': True})
    assert result['changed'] is False
    assert result['diff']['before'] == result['diff']['after']


def test_backup(store):
    original = store.read_text()
    result = succeeded({'flag_store': str(store), 'name': 'SIGNUPS_OPEN', 'backup': True, 'now': NOW})
    backup = result['backup_file']
    assert backup.startswith(str(store) + '.')
    with open(backup) as handle:
        assert handle.read() == original


def test_names_alias_and_comma_list(store):
    result = succeeded({'flag_store': str(store), 'names': 'SIGNUPS_OPEN, PUBLIC_SOFT_LAUNCH_MODE', 'now': NOW})
    assert [c['name'] for c in result['changes']] == ['SIGNUPS_OPEN', 'PUBLIC_SOFT_LAUNCH_MODE']
    assert result['access_mode_after'] == 'public_soft'


def test_bad_now_fails_cleanly(store):
    result = failed({'flag_store': str(store), 'name': 'SIGNUPS_OPEN', 'now': 'tomorrow'})
    assert 'now: expected an ISO 8601 timestamp' in result['msg']


def test_missing_store_fails_naming_it(tmp_path):
    path = str(tmp_path / 'absent.json')
    result = failed({'path': path, 'name': 'SIGNUPS_OPEN'})
    assert result['msg'].startswith(path + ': cannot read flag store')


def test_invalid_choice_rejected(store):
    result = failed({'flag_store': str(store), 'name': 'SIGNUPS_OPEN', 'dependencies': 'maybe'})
    assert 'dependencies' in result['msg']


def test_empty_name_rejected(store):
    result = failed({'flag_store': str(store), 'name': []})
    assert 'name' in result['msg']


def test_flags_turn_some_on_and_others_off_in_one_write(store):
    result = succeeded({'flag_store': str(store), 'flags': {'PUBLIC_FULL_LAUNCH_MODE': True, 'FOUNDER_BETA_MODE': False},
                        'now': NOW})
    assert result['changed'] is True
    assert sorted((c['name'], c['after']) for c in result['changes']) == [
        ('FOUNDER_BETA_MODE', False), ('PUBLIC_FULL_LAUNCH_MODE', True)]
    assert result['access_mode_before'] == 'founder_beta' and result['access_mode_after'] == 'public_full'
    assert result['sha256_after'] == hashlib.sha256(store.read_bytes()).hexdigest()


def test_check_mode_gives_the_hash_the_write_leaves(store):
    args = {'flag_store': str(store), 'flags': {'SIGNUPS_OPEN': True}, 'now': NOW}
    predicted = succeeded(dict(args, _ansible_check_mode=True))['sha256_after']
    succeeded(args)
    assert hashlib.sha256(store.read_bytes()).hexdigest() == predicted


def test_flags_must_be_booleans_and_exclude_name(store):
    assert 'SIGNUPS_OPEN must be true or false' in failed({'flag_store': str(store), 'flags': {'SIGNUPS_OPEN': 'yes'}})['msg']
    assert 'mutually exclusive' in failed({'flag_store': str(store), 'flags': {'SIGNUPS_OPEN': True},
                                           'name': 'SIGNUPS_OPEN'})['msg']
    assert 'one of the following is required: name, flags' in failed({'flag_store': str(store)})['msg']
    assert 'missing required arguments: flag_store' in failed({'name': 'SIGNUPS_OPEN'})['msg']


def test_a_change_is_audited_once_under_the_run_lock(store, tmp_path):
    from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, deploy_lock
    audit, lock, run = str(tmp_path / 'audit'), str(tmp_path / 'deploy.lock'), '20250301T120000Z-abcdef'
    deploy_lock.acquire(lock, {'run_id': run}, 1800)
    args = {'flag_store': str(store), 'name': 'SIGNUPS_OPEN', 'now': NOW, 'lock_path': lock, 'audit_dir': audit,
            'audit_file': 'activation-20250301T120000Z.log', 'run_id': run}
    result = succeeded(args)
    assert result['audit_head']['seq'] == 1
    again = succeeded(args)
    assert again['changed'] is False and 'audit_head' not in again
    (entry,) = audit_log.read_trail(audit)[0]
    assert entry.record.event == 'FLAGS_CHANGED'
    assert entry.record.fields == {'flags': 'SIGNUPS_OPEN=on', 'access_mode': 'founder_beta'}


def test_audit_file_without_audit_dir_writes_nothing(store):
    before = store.read_bytes()
    result = failed({'flag_store': str(store), 'name': 'SIGNUPS_OPEN', 'audit_file': 'activation-20250301T120000Z.log',
                     'run_id': '20250301T120000Z-abcdef'})
    assert 'audit_dir is required when audit_file is set' in result['msg'] and 'nothing was written' in result['msg']
    assert store.read_bytes() == before


def test_path_still_names_the_flag_store_with_a_deprecation(store, monkeypatch):
    # Every module calls the flag store flag_store; path stays an alias until 3.0.0.
    seen = []
    monkeypatch.setattr(arg_spec, 'deprecate', lambda msg, version=None, **kw: seen.append(dict(kw, msg=msg, version=version)))
    result = succeeded({'path': str(store), 'name': 'SIGNUPS_OPEN', 'now': NOW})
    assert result['changed'] is True
    assert flags_in(store)['SIGNUPS_OPEN'] is True
    assert [d for d in seen if "'path'" in d['msg'] and d['version'] == '3.0.0'
            and 'nexus_cos.launch' in str(d.get('deprecator') or d.get('collection_name'))], seen  # collection_name before 2.19
