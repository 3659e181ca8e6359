# -*- coding: utf-8 -*-
"""The pf_setting module, run in-process the way community.general tests modules."""

from __future__ import annotations

import os

import pytest

from ansible_collections.nexus_cos.launch.plugins.modules import pf_setting

from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import module_failed, module_succeeded


pytestmark = pytest.mark.usefixtures('module_exits')


def succeeded(args):
    return module_succeeded(pf_setting.main, args)


def failed(args):
    return module_failed(pf_setting.main, args)


# --- fixtures --------------------------------------------------------------

# A blank line that carries indentation is written \x20\x20 (no trailing
# whitespace in the source).
PF = '''---
# Exchange PF - staged opening
version: "2.1.0"
status: "gated"

exchange:
  enabled: false # Requires manual activation
  opened: 2025-01-01
\x20\x20
  audiences:
    founders:
      enabled: false
      cap: 10000 # credits
    public:
      enabled: false
      limits: {daily: 5}
'''


@pytest.fixture
def pf(tmp_path):
    path = tmp_path / 'exchange.yaml'
    path.write_text(PF)
    return path


# --- tests -----------------------------------------------------------------


def test_set_values_round_trip(pf):
    result = succeeded({'path': str(pf), 'settings': {
        'exchange.enabled': True,
        'exchange.audiences.founders.enabled': True,
        'status': 'open',
    }})
    assert result['changed'] is True
    assert result['changes'] == [
        {'key': 'exchange.enabled', 'before': False, 'after': True},
        {'key': 'exchange.audiences.founders.enabled', 'before': False, 'after': True},
        {'key': 'status', 'before': 'gated', 'after': 'open'},
    ]
    assert pf.read_text() == (PF.replace('enabled: false # Requires', 'enabled: true # Requires')
                              .replace('    founders:\n      enabled: false', '    founders:\n      enabled: true')
                              .replace('status: "gated"', 'status: "open"'))


def test_second_run_is_idempotent(pf):
    args = {'path': str(pf), 'settings': {'exchange.enabled': True}}
    succeeded(args)
    os.utime(str(pf), (1_000_000_000, 1_000_000_000))
    result = succeeded(args)
    assert result['changed'] is False and result['changes'] == []
    assert os.stat(str(pf)).st_mtime == 1_000_000_000


def test_check_mode_with_diff_leaves_file_untouched(pf):
    mtime = os.stat(str(pf)).st_mtime_ns
    result = succeeded({'path': str(pf), 'settings': {'exchange.audiences.founders.cap': 20000},
                        '_ansible_check_mode': True, '_ansible_diff': True})
    assert result['changed'] is True
    assert pf.read_text() == PF
    assert os.stat(str(pf)).st_mtime_ns == mtime
    assert result['diff']['before'] == PF
    assert result['diff']['after'] == PF.replace('cap: 10000 # credits', 'cap: 20000 # credits')
    assert result['diff']['before_header'] == '%s (content)' % pf
    assert sorted(os.listdir(str(pf.parent))) == ['exchange.yaml']


def test_refused_setting_fails_and_writes_nothing(pf):
    result = failed({'path': str(pf), 'settings': {
        'exchange.enabled': True,
        'exchange.audiences.public.limits.daily': 6,
    }})
    assert result['msg'].startswith('cannot edit exchange.audiences.public.limits.daily in %s safely: ' % pf)
    assert pf.read_text() == PF


def test_unknown_key_fails_listing_keys(pf):
    result = failed({'path': str(pf), 'settings': {'exchange.nope': True}})
    assert 'no nope under exchange (keys there: enabled, opened, audiences)' in result['msg']


def test_date_values_are_reported_as_text(pf):
    result = succeeded({'path': str(pf), 'settings': {'exchange.opened': '2025-02-01'}})
    assert result['changes'] == [{'key': 'exchange.opened', 'before': '2025-01-01', 'after': '2025-02-01'}]
    assert '  opened: "2025-02-01"\n' in pf.read_text()


def test_backup(pf):
    result = succeeded({'path': str(pf), 'settings': {'status': 'open'}, 'backup': True})
    with open(result['backup_file']) as handle:
        assert handle.read() == PF


def test_missing_file(tmp_path):
    path = str(tmp_path / 'none.yaml')
    result = failed({'path': path, 'settings': {'a': 1}})
    assert result['msg'] == '%s: cannot read PF file: file not found; expected it to exist' % path


def test_settings_required(pf):
    result = failed({'path': str(pf)})
    assert 'settings' in result['msg']


def test_a_change_is_audited_with_its_keys(pf, tmp_path):
    from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log
    audit = str(tmp_path / 'audit')
    args = {'path': str(pf), 'settings': {'exchange.enabled': True, 'exchange.audiences.founders.enabled': True},
            'audit_dir': audit, 'audit_file': 'activation-20250301T120000Z.log', 'run_id': '20250301T120000Z-abcdef'}
    predicted = succeeded(dict(args, _ansible_check_mode=True))
    result = succeeded(args)
    assert result['sha256_after'] == predicted['sha256_after']
    assert succeeded(args)['changed'] is False
    (entry,) = audit_log.read_trail(audit)[0]
    assert entry.record.event == 'PF_SETTINGS_CHANGED'
    assert entry.record.fields == {'files': 'exchange.yaml',
                                   'keys': 'exchange.yaml:exchange.enabled,exchange.yaml:exchange.audiences.founders.enabled'}


def test_refused_without_the_run_lock(pf, tmp_path):
    result = failed({'path': str(pf), 'settings': {'exchange.enabled': True}, 'lock_path': str(tmp_path / 'lock'),
                     'run_id': '20250301T120000Z-abcdef'})
    assert 'does not hold the deployment lock' in result['msg']
    assert pf.read_text() == PF
