# -*- coding: utf-8 -*-
"""Flag store semantics, rendering and the atomic file update."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import atomic_file
from ansible_collections.nexus_cos.launch.plugins.module_utils import flag_store
from ansible_collections.nexus_cos.launch.plugins.module_utils.flag_store import (
    FlagError,
    FlagRequest,
    FlagStore,
    dumps,
    format_timestamp,
    load,
    loads,
    plan_change,
    render,
    update_flags,
)
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import edit_lock
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths

CORPUS = os.path.join(repo_paths.PLATFORM_FIXTURES, 'config', 'feature-flags.json')
NOW = '2025-03-01T12:00:00Z'


def flag(enabled=False, requires=(), category='test', description='test flag'):
    return {
        'enabled': enabled,
        'description': description,
        'type': 'boolean',
        'default': False,
        'category': category,
        'requires': list(requires),
    }


def store_data(**flags):
    return {
        'version': '2.0.0',
        'updated': '2025-01-01T00:00:00Z',
        'feature_flags': flags,
        'access_modes': {'founder_beta': {'enabled': True, 'features': ['preview']}},
    }


def sample_data():
    # Shaped like the platform's store: a marketplace chain, access modes, a loner.
    return store_data(
        MARKET_PREVIEW=flag(),
        MARKET_TRADING=flag(requires=['MARKET_PREVIEW']),
        MARKET_AUCTIONS=flag(requires=['MARKET_TRADING']),
        SEO_ENABLED=flag(),
        FOUNDER_BETA_MODE=flag(enabled=True, category='access'),
        PUBLIC_SOFT_LAUNCH_MODE=flag(category='access'),
        PUBLIC_FULL_LAUNCH_MODE=flag(category='access'),
    )


def make_store(data=None, source='flags.json'):
    data = sample_data() if data is None else data
    return loads(dumps(data), source)


# Hand-formatted like the real file: inline requires arrays, non-ASCII text.
HAND_WRITTEN = """{
  "version": "1.0.0",
  "updated": "2025-01-01T00:00:00Z",
  "feature_flags": {
    "MARKET_PREVIEW": {
      "enabled": false,
      "description": "Vorschau – nur ansehen",
      "requires": []
    },
    "MARKET_TRADING": {
      "enabled": false,
      "description": "Trading",
      "requires": ["MARKET_PREVIEW"]
    },
    "FOUNDER_BETA_MODE": {"enabled": true, "requires": []}
  },
  "access_modes": {}
}
"""


@pytest.fixture
def store_file(tmp_path):
    path = tmp_path / 'feature-flags.json'
    path.write_text(dumps(sample_data()), encoding='utf-8')
    return path


def names(plan):
    return [(c.name, c.before, c.after) for c in plan]


# --- loading ---------------------------------------------------------------


def test_load_keeps_key_order_and_text():
    store = make_store()
    assert store.names()[:3] == ['MARKET_PREVIEW', 'MARKET_TRADING', 'MARKET_AUCTIONS']
    assert store.text == dumps(sample_data())


def test_duplicate_key_is_refused_with_path_and_line():
    text = '{\n  "feature_flags": {\n    "A": {"enabled": true},\n    "A": {"enabled": false}\n  }\n}\n'
    with pytest.raises(FlagError) as err:
        loads(text, '/srv/flags.json')
    assert str(err.value) == ('/srv/flags.json:4: duplicate key "A" in feature_flags (first at line 3); expected '
                              'each key once per object (JSON readers keep only the last one)')


def test_duplicate_nested_key_is_refused():
    text = '{"feature_flags": {"A": {"enabled": true, "enabled": false}}}'
    with pytest.raises(FlagError, match=r'duplicate key "enabled" in feature_flags\.A '):
        loads(text, 'f.json')


@pytest.mark.parametrize('text, fragment', [
    ('{"feature_flags": {"A": {"enabled": NaN}}}', 'NaN is not valid JSON'),
    ('{"feature_flags": {"A": {"enabled": true, "limit": Infinity}}}', 'Infinity is not valid JSON'),
    ('\ufeff{"feature_flags": {}}', 'byte-order mark'),
])
def test_what_the_validator_refuses_the_editor_refuses(text, fragment):
    # One reader: flag_store once took NaN that precheck 7 refused.
    with pytest.raises(FlagError, match=fragment):
        loads(text, 'f.json')


def test_duplicate_keys_in_different_objects_are_fine():
    text = '{"feature_flags": {"A": {"enabled": true, "requires": []}, "B": {"enabled": true, "requires": ["A"]}}}'
    assert loads(text).effective('B') is True


def test_invalid_json_names_the_file():
    with pytest.raises(FlagError, match=r'^/x/flags.json:1: invalid JSON: Expecting value \(column 19\)'):
        loads('{"feature_flags": ', '/x/flags.json')


@pytest.mark.parametrize('data, key', [
    ([], 'top level'),
    ({'version': '1'}, 'feature_flags'),
    ({'feature_flags': {'A': []}}, 'feature_flags.A must be an object'),
    ({'feature_flags': {'A': {'enabled': 'yes'}}}, 'feature_flags.A.enabled must be true or false, found "yes"'),
    ({'feature_flags': {'A': {'enabled': True, 'requires': 'B'}}}, 'feature_flags.A.requires must be a list'),
])
def test_malformed_store_names_file_and_key(data, key):
    with pytest.raises(FlagError) as err:
        loads(json.dumps(data), 'store.json')
    assert str(err.value).startswith('store.json: ')
    assert key in str(err.value)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FlagError, match='missing.json: cannot read flag store'):
        load(str(tmp_path / 'missing.json'))


def test_requires_null_means_none():
    store = loads('{"feature_flags": {"A": {"enabled": true, "requires": null}}}')
    assert store.effective('A') is True


# --- semantics -------------------------------------------------------------


def test_effective_needs_every_requirement_recursively():
    data = sample_data()
    for name in ('MARKET_TRADING', 'MARKET_AUCTIONS'):
        data['feature_flags'][name]['enabled'] = True
    store = make_store(data)
    assert store.effective('MARKET_AUCTIONS') is False  # MARKET_PREVIEW is off
    data['feature_flags']['MARKET_PREVIEW']['enabled'] = True
    assert make_store(data).effective('MARKET_AUCTIONS') is True


def test_effective_of_unknown_or_dangling_requirement_is_false():
    store = make_store(store_data(A=flag(enabled=True, requires=['GONE'])))
    assert store.effective('A') is False
    assert store.effective('NOPE') is False


def test_cycle_in_requires_does_not_hang_and_is_never_effective():
    store = make_store(store_data(
        A=flag(enabled=True, requires=['B']),
        B=flag(enabled=True, requires=['C']),
        C=flag(enabled=True, requires=['A']),
        D=flag(enabled=True, requires=['A']),
        E=flag(enabled=True),
    ))
    assert store.effective('A') is False
    assert store.effective('D') is False
    assert store.effective('E') is True
    assert store.requires_cycles() == [['A', 'B', 'C', 'A']]
    with pytest.raises(FlagError, match='cycle: .*A -> B -> C -> A') as err:
        plan_change(store, enable=['D'])
    assert err.value.details['cycle'][0] == 'A'


def test_self_requirement_is_a_cycle():
    store = make_store(store_data(A=flag(enabled=True, requires=['A'])))
    assert store.effective('A') is False
    with pytest.raises(FlagError, match='cycle'):
        plan_change(store, enable=['A'], with_dependencies=True)


@pytest.mark.parametrize('on, mode', [
    ((), 'none'),
    (('FOUNDER_BETA_MODE',), 'founder_beta'),
    (('FOUNDER_BETA_MODE', 'PUBLIC_SOFT_LAUNCH_MODE'), 'public_soft'),
    (('FOUNDER_BETA_MODE', 'PUBLIC_SOFT_LAUNCH_MODE', 'PUBLIC_FULL_LAUNCH_MODE'), 'public_full'),
    (('PUBLIC_FULL_LAUNCH_MODE',), 'public_full'),
])
def test_access_mode_precedence(on, mode):
    data = sample_data()
    for name, value in data['feature_flags'].items():
        value['enabled'] = name in on
    assert make_store(data).access_mode() == mode


def test_access_mode_uses_effective_state():
    data = sample_data()
    data['feature_flags']['PUBLIC_FULL_LAUNCH_MODE'] = flag(enabled=True, requires=['SEO_ENABLED'])
    assert make_store(data).access_mode() == 'founder_beta'


def test_dependants_are_transitive_enabled_and_outermost_first():
    data = sample_data()
    for name in ('MARKET_PREVIEW', 'MARKET_TRADING', 'MARKET_AUCTIONS'):
        data['feature_flags'][name]['enabled'] = True
    store = make_store(data)
    assert store.dependants('MARKET_PREVIEW') == ['MARKET_AUCTIONS', 'MARKET_TRADING']
    data['feature_flags']['MARKET_AUCTIONS']['enabled'] = False
    assert make_store(data).dependants('MARKET_PREVIEW') == ['MARKET_TRADING']


# --- planning --------------------------------------------------------------


def test_unknown_flag_is_refused_by_name():
    with pytest.raises(FlagError) as err:
        plan_change(make_store(), enable=['MARKET_PREVIEW', 'NO_SUCH_FLAG', 'OTHER'])
    assert 'unknown flags: NO_SUCH_FLAG, OTHER' in str(err.value)
    assert 'flags.json' in str(err.value)
    assert err.value.details == {'unknown': ['NO_SUCH_FLAG', 'OTHER']}


def test_unknown_flag_refused_on_disable_too():
    with pytest.raises(FlagError, match='unknown flag: GHOST'):
        plan_change(make_store(), disable=['GHOST'])


def test_enable_with_missing_requires_is_refused_naming_them():
    with pytest.raises(FlagError) as err:
        plan_change(make_store(), enable=['MARKET_AUCTIONS'])
    msg = str(err.value)
    assert 'cannot enable MARKET_AUCTIONS' in msg
    assert 'MARKET_PREVIEW, MARKET_TRADING' in msg
    assert err.value.details == {'missing': {'MARKET_AUCTIONS': ['MARKET_PREVIEW', 'MARKET_TRADING']}}


def test_enable_with_dependencies_enables_them_first():
    plan = plan_change(make_store(), enable=['MARKET_AUCTIONS'], with_dependencies=True)
    assert names(plan) == [
        ('MARKET_PREVIEW', False, True),
        ('MARKET_TRADING', False, True),
        ('MARKET_AUCTIONS', False, True),
    ]


def test_enable_requirement_in_same_request_needs_no_dependencies_flag():
    plan = plan_change(make_store(), enable=['MARKET_TRADING', 'MARKET_PREVIEW'])
    assert names(plan) == [('MARKET_PREVIEW', False, True), ('MARKET_TRADING', False, True)]


def test_enable_already_on_is_empty_plan():
    plan = plan_change(make_store(), enable=['FOUNDER_BETA_MODE'])
    assert not plan.changed and len(plan) == 0


def test_enable_with_dependencies_skips_those_already_on():
    data = sample_data()
    data['feature_flags']['MARKET_PREVIEW']['enabled'] = True
    plan = plan_change(make_store(data), enable=['MARKET_TRADING'], with_dependencies=True)
    assert names(plan) == [('MARKET_TRADING', False, True)]


def test_enable_requiring_unknown_flag_is_refused():
    store = make_store(store_data(A=flag(requires=['GONE'])))
    with pytest.raises(FlagError, match='A requires unknown flag GONE'):
        plan_change(store, enable=['A'], with_dependencies=True)


def enabled_chain():
    data = sample_data()
    for name in ('MARKET_PREVIEW', 'MARKET_TRADING', 'MARKET_AUCTIONS'):
        data['feature_flags'][name]['enabled'] = True
    return make_store(data)


def test_disable_with_dependants_is_refused_naming_them():
    with pytest.raises(FlagError) as err:
        plan_change(enabled_chain(), disable=['MARKET_PREVIEW'])
    msg = str(err.value)
    assert 'cannot disable MARKET_PREVIEW (needed by MARKET_AUCTIONS, MARKET_TRADING)' in msg
    assert err.value.details == {'dependants': {'MARKET_PREVIEW': ['MARKET_AUCTIONS', 'MARKET_TRADING']}}


def test_disable_with_cascade_disables_dependants_first():
    plan = plan_change(enabled_chain(), disable=['MARKET_PREVIEW'], cascade=True)
    assert names(plan) == [
        ('MARKET_AUCTIONS', True, False),
        ('MARKET_TRADING', True, False),
        ('MARKET_PREVIEW', True, False),
    ]


def test_disable_of_dependants_together_needs_no_cascade():
    plan = plan_change(enabled_chain(), disable=['MARKET_PREVIEW', 'MARKET_TRADING', 'MARKET_AUCTIONS'])
    assert [c.name for c in plan] == ['MARKET_AUCTIONS', 'MARKET_TRADING', 'MARKET_PREVIEW']


def test_disable_leaf_is_allowed():
    plan = plan_change(enabled_chain(), disable=['MARKET_AUCTIONS'])
    assert names(plan) == [('MARKET_AUCTIONS', True, False)]


def test_disable_already_off_is_a_no_op_even_with_stale_dependant():
    data = sample_data()
    data['feature_flags']['MARKET_TRADING']['enabled'] = True  # inconsistent, PREVIEW off
    assert not plan_change(make_store(data), disable=['MARKET_PREVIEW']).changed


def test_cascade_on_disabled_flag_still_turns_dependants_off():
    data = sample_data()
    data['feature_flags']['MARKET_TRADING']['enabled'] = True
    plan = plan_change(make_store(data), disable=['MARKET_PREVIEW'], cascade=True)
    assert names(plan) == [('MARKET_TRADING', True, False)]


def test_enable_and_disable_same_flag_is_refused():
    with pytest.raises(FlagError, match='both enabled and disabled.*SEO_ENABLED'):
        plan_change(make_store(), enable=['SEO_ENABLED'], disable=['SEO_ENABLED'])


def test_enable_needing_a_flag_being_disabled_is_refused():
    data = sample_data()
    data['feature_flags']['MARKET_PREVIEW']['enabled'] = True
    with pytest.raises(FlagError, match='cannot enable MARKET_TRADING: it requires MARKET_PREVIEW'):
        plan_change(make_store(data), enable=['MARKET_TRADING'], disable=['MARKET_PREVIEW'])
    with pytest.raises(FlagError, match='which this request disables'):
        plan_change(make_store(data), enable=['MARKET_TRADING'], disable=['MARKET_PREVIEW'],
                    with_dependencies=True)


def test_cascade_into_an_enabled_name_is_refused():
    store = enabled_chain()
    with pytest.raises(FlagError, match='cannot enable MARKET_AUCTIONS'):
        plan_change(store, enable=['MARKET_AUCTIONS'], disable=['MARKET_PREVIEW'], cascade=True)


def test_launch_switch_in_one_plan():
    plan = plan_change(make_store(), enable=['PUBLIC_FULL_LAUNCH_MODE', 'SEO_ENABLED'],
                       disable=['FOUNDER_BETA_MODE'])
    assert names(plan) == [
        ('FOUNDER_BETA_MODE', True, False),
        ('PUBLIC_FULL_LAUNCH_MODE', False, True),
        ('SEO_ENABLED', False, True),
    ]
    assert plan.as_dicts()[0] == {'name': 'FOUNDER_BETA_MODE', 'before': True, 'after': False}


def test_duplicate_names_in_request_are_collapsed():
    plan = plan_change(make_store(), enable=['SEO_ENABLED', 'SEO_ENABLED'])
    assert names(plan) == [('SEO_ENABLED', False, True)]


# --- rendering -------------------------------------------------------------


def test_render_without_change_is_the_original_text():
    store = loads(HAND_WRITTEN, 'f.json')
    plan = plan_change(store, enable=['FOUNDER_BETA_MODE'])
    assert render(store, plan, NOW) == HAND_WRITTEN


def test_render_sets_updated_only_on_change():
    store = make_store()
    changed = render(store, plan_change(store, enable=['SEO_ENABLED']), NOW)
    assert json.loads(changed)['updated'] == NOW
    unchanged = render(store, plan_change(store, disable=['SEO_ENABLED']), NOW)
    assert json.loads(unchanged)['updated'] == '2025-01-01T00:00:00Z'


def test_render_of_canonical_file_is_canonical_two_space_json():
    store = make_store()
    text = render(store, plan_change(store, enable=['SEO_ENABLED']), NOW)
    expected = sample_data()
    expected['feature_flags']['SEO_ENABLED']['enabled'] = True
    expected['updated'] = NOW
    assert text == json.dumps(expected, indent=2, ensure_ascii=False) + '\n'
    assert '\n  "feature_flags": {\n    "MARKET_PREVIEW": {\n      "enabled": false' in text


def test_render_of_hand_written_file_changes_only_the_values():
    store = loads(HAND_WRITTEN, 'f.json')
    text = render(store, plan_change(store, enable=['MARKET_TRADING'], with_dependencies=True), NOW)
    old_lines = HAND_WRITTEN.splitlines()
    new_lines = text.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
    assert changed == [
        ('  "updated": "2025-01-01T00:00:00Z",', '  "updated": "%s",' % NOW),
        ('      "enabled": false,', '      "enabled": true,'),
        ('      "enabled": false,', '      "enabled": true,'),
    ]
    assert '"requires": ["MARKET_PREVIEW"]' in text
    assert 'Vorschau – nur ansehen' in text


def test_render_edits_compact_flag_objects():
    store = loads(HAND_WRITTEN, 'f.json')
    text = render(store, plan_change(store, disable=['FOUNDER_BETA_MODE']), NOW)
    assert '"FOUNDER_BETA_MODE": {"enabled": false, "requires": []}' in text


def test_render_without_updated_key_falls_back_to_canonical_dump():
    data = sample_data()
    del data['updated']
    store = loads(json.dumps(data, separators=(',', ':')), 'f.json')
    text = render(store, plan_change(store, enable=['SEO_ENABLED']), NOW)
    parsed = json.loads(text)
    assert parsed['updated'] == NOW
    assert text == dumps(parsed)
    assert text.startswith('{\n  "version"')


def test_canonical_fallback_keeps_escaped_non_ascii_escaped():
    data = store_data(A=flag(description='caf\u00e9'))
    del data['updated']
    escaped = loads(json.dumps(data), 'f.json')  # ensure_ascii=True: "caf\u00e9"
    text = render(escaped, plan_change(escaped, enable=['A']), NOW)
    assert 'caf\\u00e9' in text
    raw = loads(json.dumps(data, ensure_ascii=False), 'f.json')
    assert 'caf\u00e9' in render(raw, plan_change(raw, enable=['A']), NOW)


def test_dumps_format():
    assert dumps({'a': [1], 'b': '\u00e9'}) == '{\n  "a": [\n    1\n  ],\n  "b": "\u00e9"\n}\n'


@pytest.mark.parametrize('given, expected', [
    ('2024-12-24T00:00:00Z', '2024-12-24T00:00:00Z'),
    ('2024-12-24T02:00:00+02:00', '2024-12-24T00:00:00Z'),
    ('2024-12-24T00:00:00.999', '2024-12-24T00:00:00Z'),
    ('2024-12-24', '2024-12-24T00:00:00Z'),
])
def test_format_timestamp(given, expected):
    assert format_timestamp(given) == expected


def test_format_timestamp_default_is_utc_now():
    assert format_timestamp().endswith('Z') and len(format_timestamp()) == 20


def test_format_timestamp_refuses_garbage():
    with pytest.raises(FlagError, match='now: expected an ISO 8601 timestamp'):
        format_timestamp('yesterday')


# --- file update -----------------------------------------------------------


def listing(directory):
    return sorted(os.listdir(str(directory)))


def test_update_no_op_leaves_bytes_mtime_and_directory_alone(store_file):
    os.utime(str(store_file), (1_000_000_000, 1_000_000_000))
    before = store_file.read_bytes()
    entries = listing(store_file.parent)
    result = update_flags(str(store_file), FlagRequest(enable=['FOUNDER_BETA_MODE'], disable=['SEO_ENABLED']), now=NOW)
    assert not result.changed and not result.written
    assert store_file.read_bytes() == before
    assert os.stat(str(store_file)).st_mtime == 1_000_000_000
    assert listing(store_file.parent) == entries
    assert result.after_text == result.before_text == before.decode()


def test_update_writes_change_and_cleans_up(store_file):
    os.chmod(str(store_file), 0o640)
    inode = os.stat(str(store_file)).st_ino
    result = update_flags(str(store_file), FlagRequest(enable=['MARKET_TRADING'], with_dependencies=True), now=NOW)
    assert result.changed and result.written
    data = json.loads(store_file.read_text())
    assert data['updated'] == NOW
    assert data['feature_flags']['MARKET_TRADING']['enabled'] is True
    assert store_file.read_text() == result.after_text
    assert stat.S_IMODE(os.stat(str(store_file)).st_mode) == 0o640
    assert os.stat(str(store_file)).st_ino != inode  # replaced, not rewritten in place
    assert listing(store_file.parent) == ['feature-flags.json']  # no lock or temp file left
    assert result.after.effective('MARKET_TRADING') is True
    assert result.before.effective('MARKET_TRADING') is False


def test_second_identical_update_is_a_no_op(store_file):
    update_flags(str(store_file), FlagRequest(enable=['SEO_ENABLED']), now=NOW)
    content = store_file.read_bytes()
    again = update_flags(str(store_file), FlagRequest(enable=['SEO_ENABLED']), now='2030-01-01T00:00:00Z')
    assert not again.changed
    assert store_file.read_bytes() == content


def test_check_mode_leaves_file_untouched(store_file):
    before = store_file.read_bytes()
    mtime = os.stat(str(store_file)).st_mtime_ns
    result = update_flags(str(store_file), FlagRequest(enable=['SEO_ENABLED']), now=NOW, check_mode=True)
    assert result.changed and not result.written
    assert json.loads(result.after_text)['feature_flags']['SEO_ENABLED']['enabled'] is True
    assert store_file.read_bytes() == before
    assert os.stat(str(store_file)).st_mtime_ns == mtime
    assert listing(store_file.parent) == ['feature-flags.json']


def test_refused_change_leaves_file_untouched(store_file):
    before = store_file.read_bytes()
    with pytest.raises(FlagError):
        update_flags(str(store_file), FlagRequest(enable=['MARKET_AUCTIONS']), now=NOW)
    assert store_file.read_bytes() == before


def test_backup_is_called_under_lock_before_write(store_file):
    seen = []

    def backup(path):
        seen.append((path, os.path.exists(path + '.lock'), json.loads(open(path).read())['updated']))
        return path + '.bak'

    result = update_flags(str(store_file), FlagRequest(enable=['SEO_ENABLED']), now=NOW, backup=backup)
    assert result.backup_file == str(store_file) + '.bak'
    assert seen == [(str(store_file), True, '2025-01-01T00:00:00Z')]


def test_crash_during_rename_keeps_original_and_leaves_no_temp(store_file, monkeypatch):
    before = store_file.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(atomic_file.os, 'replace', broken_replace)
    with pytest.raises(OSError):
        update_flags(str(store_file), FlagRequest(enable=['SEO_ENABLED']), now=NOW)
    assert store_file.read_bytes() == before
    assert listing(store_file.parent) == ['feature-flags.json']


def test_crash_while_writing_temp_keeps_original(store_file, monkeypatch):
    before = store_file.read_bytes()

    def broken_fsync(fd):
        raise OSError(5, 'Input/output error')

    monkeypatch.setattr(atomic_file.os, 'fsync', broken_fsync)
    with pytest.raises(OSError):
        update_flags(str(store_file), FlagRequest(enable=['SEO_ENABLED']), now=NOW)
    assert store_file.read_bytes() == before
    assert listing(store_file.parent) == ['feature-flags.json']


def test_lock_timeout_is_a_flag_error(store_file):
    with edit_lock(str(store_file)):
        with pytest.raises(FlagError, match='timed out .* waiting for lock .*feature-flags.json.lock'):
            update_flags(str(store_file), FlagRequest(enable=['SEO_ENABLED']), now=NOW, lock_timeout=0.2)
    assert listing(store_file.parent) == ['feature-flags.json']


def test_concurrent_updates_both_land(store_file):
    barrier = threading.Barrier(2)
    errors = []

    def worker(name):
        try:
            barrier.wait()
            update_flags(str(store_file), FlagRequest(enable=[name]), now=NOW)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ('SEO_ENABLED', 'MARKET_PREVIEW')]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    flags = json.loads(store_file.read_text())['feature_flags']
    assert flags['SEO_ENABLED']['enabled'] and flags['MARKET_PREVIEW']['enabled']
    assert listing(store_file.parent) == ['feature-flags.json']


def test_update_rejects_bad_now_before_touching_anything(store_file):
    before = store_file.read_bytes()
    with pytest.raises(FlagError, match='now:'):
        update_flags(str(store_file), FlagRequest(enable=['SEO_ENABLED']), now='soon')
    assert store_file.read_bytes() == before


# --- the platform's own store, when the corpus is present --------------------


@pytest.mark.skipif(not os.path.exists(CORPUS), reason='the platform fixtures are not at %s (../shared beside the checkout, or NEXUS_COS_FIXTURES)' % CORPUS)
def test_platform_store_semantics_and_minimal_edit():
    store = load(CORPUS)
    assert isinstance(store, FlagStore)
    assert store.access_mode() == 'founder_beta'
    assert store.requires_cycles() == []
    with pytest.raises(FlagError, match='MARKETPLACE_PHASE2_ENABLED'):
        plan_change(store, enable=['MARKETPLACE_PHASE3_ENABLED'])
    plan = plan_change(store, enable=['MARKETPLACE_PHASE3_ENABLED'], with_dependencies=True)
    assert [c.name for c in plan] == ['MARKETPLACE_PHASE2_ENABLED', 'MARKETPLACE_PHASE3_ENABLED']
    text = render(store, plan, NOW)
    diff = [(a, b) for a, b in zip(store.text.splitlines(), text.splitlines()) if a != b]
    assert len(diff) == 3 and len(text.splitlines()) == len(store.text.splitlines())
    after = loads(text)
    assert after.effective('MARKETPLACE_PHASE3_ENABLED') is True
    assert render(store, plan_change(store, enable=['FOUNDER_BETA_MODE']), NOW) == store.text


# ---------------------------------------------------------------- the service's reading (the kill switch's)

def test_service_reading_keeps_the_last_of_duplicate_keys_as_json_parse_does():
    text = '{"feature_flags": {"A": {"enabled": false}, "A": {"enabled": true}}}'
    with pytest.raises(flag_store.FlagError, match="duplicate key"):
        flag_store.loads(text)
    assert flag_store.service_loads(text).is_enabled("A") is True


def test_service_reading_accepts_what_the_service_serves():
    text = json.dumps({"feature_flags": {"A": {"enabled": None}, "B": True, "C": {"enabled": True, "requires": None,
                                                                                  "x": 1}}})
    store = flag_store.service_loads(text)
    assert store.effective_all() == {"A": False, "B": False, "C": True}
    plan = flag_store.plan_change(store, enable=["A"], disable=["C"])
    assert [(c.name, c.after) for c in plan] == [("C", False), ("A", True)]
    with pytest.raises(flag_store.FlagError, match="flag B is true, not an object; it cannot be enabled"):
        flag_store.plan_change(store, enable=["B"])


@pytest.mark.parametrize("text, why", [
    ("{not json", "invalid JSON"),
    ('\ufeff{"feature_flags": {"A": {}}}', "byte-order mark"),
    ('{"feature_flags": {"A": {"enabled": NaN}}}', "NaN is not valid JSON"),
    ('[1]', "the top level is list"),
    ('{"feature_flags": {}}', "feature_flags is empty"),
    ('{"feature_flags": null}', "feature_flags is null"),
])
def test_service_reading_names_a_store_the_service_serves_nothing_from(text, why):
    with pytest.raises(flag_store.StoreServesNothing, match=why):
        flag_store.service_loads(text, "s.json")


def test_service_reading_has_no_size_limit_and_reads_through_a_symlink(tmp_path):
    target = tmp_path / "real" / "flags.json"
    target.parent.mkdir()
    big = {"feature_flags": {"A": {"enabled": True, "description": "x" * (300 * 1024)}, "B": {"enabled": None}}}
    target.write_text(json.dumps(big))
    link = tmp_path / "feature-flags.json"
    link.symlink_to(target)
    with pytest.raises(flag_store.FlagError):
        flag_store.load(str(link))   # the strict reading refuses a file over 256 KiB
    update = flag_store.update_flags(str(link), flag_store.FlagRequest(enable=["B"], disable=["A"]), service_reading=True)
    assert update.written and os.path.islink(str(link))
    data = json.loads(target.read_text())
    assert data["feature_flags"]["B"]["enabled"] is True and data["feature_flags"]["A"]["enabled"] is False
    assert target.read_text().startswith('{\n  "feature_flags": {\n    "A": {')
    assert sorted(os.listdir(str(target.parent))) == ["flags.json"]


def test_service_problem_explains_a_gateway_that_serves_nothing(tmp_path):
    path = tmp_path / "f.json"
    path.write_text('{"feature_flags": {"A": {"enabled": true}, "A": {"enabled": false}}}')
    assert flag_store.service_problem(str(path)) is None
    path.write_text("{")
    assert flag_store.service_problem(str(path)).startswith("invalid JSON")
    assert flag_store.service_problem(str(tmp_path / "missing")).startswith("cannot be read")
