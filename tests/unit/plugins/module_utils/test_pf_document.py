# -*- coding: utf-8 -*-
"""Round-trip edits of PF YAML files."""

from __future__ import annotations

import copy
import glob
import os

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import atomic_file
from ansible_collections.nexus_cos.launch.plugins.module_utils.pf_document import (
    PFDocument,
    PFEditError,
    apply_settings,
    format_scalar,
    load,
    loads,
    update_settings,
)
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths

CORPUS = os.path.join(repo_paths.PLATFORM_FIXTURES, 'pfs')

# Written in the PF files' style: header comment, quoted strings, trailing
# comments, blank lines that carry indentation (written \x20 here, so the
# source has no trailing whitespace), the same key at many depths.
SAMPLE = '''---
# Exchange PF - staged opening
version: "2.1.0"
pf_id: "PF-EXCHANGE"
status: "gated"
stage: 1

exchange:
  enabled: false # Requires manual activation
  mode: "preview"
  label: 'Founders'' desk'
  region: eu-west
  ratio: 0.5
  owner: null
\x20\x20
  listings:
    fixed_price:
      enabled: false
      gate: "manual"
\x20\x20\x20\x20\x20\x20
    bidding:
      enabled: false
      gate: "stage_4"

  audiences:
    founders:
      enabled: false
      day: 0
      cap: 10000 # credits

    public:
      enabled: false
      day: 14
      cap: 1000 # credits
      checks:
        - "kyc_basic"
        - "age"

rollout:
  - name: "one"
    enabled: true

deployment:
  command: "exchangectl enable --stage [1-4]"
'''


def doc(text=SAMPLE, source='exchange.yaml'):
    return loads(text, source)


def changed_lines(old, new):
    old_lines, new_lines = old.split('\n'), new.split('\n')
    assert len(old_lines) == len(new_lines)
    return [(a, b) for a, b in zip(old_lines, new_lines) if a != b]


def test_sample_parses():
    d = doc()
    assert d.get('exchange.label') == "Founders' desk"
    assert d.get('exchange.audiences.public.cap') == 1000


def test_set_bool_keeps_trailing_comment_and_everything_else():
    d = doc()
    change = d.set('exchange.enabled', True)
    assert change == ('exchange.enabled', False, True)
    assert changed_lines(SAMPLE, d.text) == [
        ('  enabled: false # Requires manual activation', '  enabled: true # Requires manual activation'),
    ]


def test_same_key_name_at_other_depths_is_not_touched():
    d = doc()
    d.set('exchange.audiences.founders.enabled', True)
    assert changed_lines(SAMPLE, d.text) == [('      enabled: false', '      enabled: true')]
    assert d.get('exchange.audiences.public.enabled') is False
    assert d.get('exchange.listings.fixed_price.enabled') is False
    line = SAMPLE.split('\n').index('    founders:') + 2
    assert d.text.split('\n')[line - 1] == '      enabled: true'


def test_double_quoted_string_stays_double_quoted():
    d = doc()
    d.set('status', 'active')
    assert changed_lines(SAMPLE, d.text) == [('status: "gated"', 'status: "active"')]


def test_double_quoted_escapes():
    d = doc()
    d.set('exchange.mode', 'say "hi" \\ bye')
    assert d.get('exchange.mode') == 'say "hi" \\ bye'
    assert '  mode: "say \\"hi\\" \\\\ bye"' in d.text


def test_single_quoted_string_stays_single_quoted():
    d = doc()
    d.set('exchange.label', "Creators' desk")
    assert changed_lines(SAMPLE, d.text) == [
        ("  label: 'Founders'' desk'", "  label: 'Creators'' desk'"),
    ]


def test_plain_string_stays_plain_when_safe():
    d = doc()
    d.set('exchange.region', 'us-east')
    assert changed_lines(SAMPLE, d.text) == [('  region: eu-west', '  region: us-east')]


@pytest.mark.parametrize('value, written', [
    ('true', '"true"'),
    ('off', '"off"'),
    ('1000', '"1000"'),
    ('a: b', '"a: b"'),
    ('x # y', '"x # y"'),
    ('', '""'),
    (' padded', '" padded"'),
])
def test_plain_string_gets_quoted_when_it_would_change_meaning(value, written):
    d = doc()
    d.set('exchange.region', value)
    assert d.get('exchange.region') == value
    assert '  region: %s\n' % written in d.text


def test_number_null_and_float():
    d = doc()
    d.set('exchange.audiences.founders.cap', 20000)
    d.set('exchange.ratio', 0.75)
    d.set('exchange.owner', 'ops')  # null was not a string: house style quotes
    d.set('stage', None)
    assert changed_lines(SAMPLE, d.text) == [
        ('stage: 1', 'stage: null'),
        ('  ratio: 0.5', '  ratio: 0.75'),
        ('  owner: null', '  owner: "ops"'),
        ('      cap: 10000 # credits', '      cap: 20000 # credits'),
    ]


def test_big_float_reads_back_as_float():
    d = doc()
    d.set('exchange.ratio', 1e20)
    assert d.get('exchange.ratio') == 1e20


def test_type_change_bool_to_string_is_quoted():
    d = doc()
    d.set('exchange.enabled', 'later')
    assert '  enabled: "later" # Requires manual activation' in d.text


def test_value_already_holding_is_no_change():
    d = doc()
    assert d.set('exchange.enabled', False) is None
    assert d.set('status', 'gated') is None
    assert d.text == SAMPLE


def test_bool_and_int_are_not_the_same_value():
    d = doc()
    change = d.set('stage', True)
    assert change == ('stage', 1, True)
    assert 'stage: true\n' in d.text


def test_empty_value_gets_one():
    text = 'a:\n  b:\n  c: 1\n'
    d = loads(text)
    d.set('a.b', 'x')
    assert d.text == 'a:\n  b: "x"\n  c: 1\n'


def test_empty_value_with_comment():
    d = loads('a:\n  b: # unset\n')
    d.set('a.b', False)
    assert d.text == 'a:\n  b: false # unset\n'


def test_quoted_key():
    d = loads('top:\n  "odd key": 1\n  \'other\': 2\n')
    d.set('top.odd key', 5)
    d.set('top.other', 6)
    assert d.text == 'top:\n  "odd key": 5\n  \'other\': 6\n'


def test_crlf_line_endings_are_kept():
    text = SAMPLE.replace('\n', '\r\n')
    d = loads(text)
    d.set('exchange.enabled', True)
    assert d.text == text.replace('  enabled: false # Requires', '  enabled: true # Requires', 1)


def test_missing_final_newline_is_kept():
    d = loads('a:\n  b: false')
    d.set('a.b', True)
    assert d.text == 'a:\n  b: true'


def test_comment_lines_and_blank_lines_between_keys():
    text = 'a:\n  # b is first\n\n  b: 1\n# a root comment\n  # indented comment\n  c: 2\n'
    d = loads(text)
    d.set('a.c', 3)
    assert d.text == text.replace('c: 2', 'c: 3')


# --- refusals --------------------------------------------------------------


def test_missing_key_lists_known_keys():
    with pytest.raises(PFEditError) as err:
        doc().set('exchange.nope', True)
    msg = str(err.value)
    assert msg.startswith('exchange.yaml: key exchange.nope not found: no nope under exchange')
    assert 'enabled, mode, label' in msg


def test_mapping_target_refused():
    with pytest.raises(PFEditError, match=r'cannot edit exchange.listings in exchange.yaml safely: it holds a mapping'):
        doc().set('exchange.listings', True)


def test_list_target_refused():
    with pytest.raises(PFEditError, match='it holds a list'):
        doc().set('exchange.audiences.public.checks', 'x')


def test_path_through_list_refused():
    with pytest.raises(PFEditError, match='rollout is a list, not a mapping'):
        doc().set('rollout.0.enabled', False)


def test_path_through_scalar_refused():
    with pytest.raises(PFEditError, match='exchange.mode is a string value'):
        doc().set('exchange.mode.x', 1)


def test_non_scalar_value_refused():
    with pytest.raises(PFEditError, match='only a scalar'):
        doc().set('exchange.enabled', {'a': 1})


def test_bad_dotted_key_refused():
    with pytest.raises(PFEditError, match='not a dotted key path'):
        doc().set('exchange..enabled', True)


def test_flow_mapping_refused():
    d = loads('limits: {daily: 5, weekly: 10}\n')
    with pytest.raises(PFEditError,
                       match=r'cannot edit limits.daily in <string> safely: key daily is not written in block style'):
        d.set('limits.daily', 6)


def test_flow_scalar_in_block_parent_refused():
    d = loads('a:\n  b: [1, 2]\n')
    with pytest.raises(PFEditError, match='holds a list'):
        d.set('a.b', 1)


@pytest.mark.parametrize('text, reason', [
    ('a: !!str 5\n', 'carries a tag'),
    ('a: |\n  line one\n  line two\n', 'multi-line block scalar'),
    ('a: >\n  folded\n', 'multi-line block scalar'),
    ('a: plain words\n  continue here\n', 'spans several lines'),
    ('a: "quoted words\n  continue here"\n', 'continues on the next line'),
    ('a:\n  starts below\n', 'spans several lines'),
])
def test_unsafe_targets_refused(text, reason):
    d = loads(text, 'f.yaml')
    with pytest.raises(PFEditError) as err:
        d.set('a', 'new')
    assert str(err.value).startswith('cannot edit a in f.yaml safely: ')
    assert reason in str(err.value)
    assert d.text == text


# The editor reads with the validator's reader (documents): what precheck 7
# refuses, the editor refuses on load, before any edit.

@pytest.mark.parametrize('text, message', [
    ('a: &flag true\nb: *flag\n', 'f.yaml:1: found anchor &flag; expected no anchors or aliases'),
    ('base: &base\n  enabled: false\ncopy: *base\n', 'f.yaml:1: found anchor &base; expected no anchors'),
    ('base:\n  enabled: false\nother:\n  <<: {enabled: true}\n', 'f.yaml:4: found a merge key (<<)'),
    ('a: !!bool yes\n', 'f.yaml:1: found !!bool yes; expected true or false'),
])
def test_anchors_aliases_merge_keys_and_yaml_1_1_tags_refused_on_load(text, message):
    with pytest.raises(PFEditError) as err:
        loads(text, 'f.yaml')
    assert str(err.value).startswith(message)


def test_duplicate_keys_refused_on_load():
    with pytest.raises(PFEditError) as err:
        loads('a:\n  enabled: true\n  enabled: false\n', 'f.yaml')
    assert str(err.value) == "f.yaml:3: duplicate key 'enabled' (first at line 2); expected each key once per mapping"


def test_non_mapping_document_refused():
    with pytest.raises(PFEditError, match='^f.yaml: top level is a list; expected a mapping$'):
        loads('- a\n- b\n', 'f.yaml')


def test_invalid_yaml_names_file():
    with pytest.raises(PFEditError, match=r'^bad.yaml:2: invalid YAML'):
        loads('a: [\n', 'bad.yaml')


def test_not_utf8_names_file():
    with pytest.raises(PFEditError, match=r'^bad.yaml:1: byte 0xff at offset 3 is not valid UTF-8'):
        loads(b'a: \xff\n', 'bad.yaml')


# YAML 1.1 boolean words: a string to the editor as to the validator and
# the gates, and never written plain for a string.

def test_yaml_1_1_boolean_word_is_a_string_and_false_replaces_it():
    d = loads('exchange:\n  enabled: off # paused\n', 'f.yaml')
    assert d.get('exchange.enabled') == 'off'
    assert d.set('exchange.enabled', False) == ('exchange.enabled', 'off', False)
    assert d.text == 'exchange:\n  enabled: false # paused\n'


@pytest.mark.parametrize('word', ['on', 'off', 'yes', 'no', 'y', 'n', 'Y', 'N', 'ON', 'Off', 'nO', 'yEs'])
def test_yaml_1_1_boolean_word_is_never_written_plain(word):
    d = doc()
    d.set('exchange.region', word)  # a plain string before: plain would be the house style
    assert '  region: "%s"\n' % word in d.text
    assert d.get('exchange.region') == word


def test_apply_settings_is_all_or_nothing():
    d = doc()
    with pytest.raises(PFEditError):
        apply_settings(d, {'exchange.enabled': True, 'exchange.nope': 1})
    assert d.text == SAMPLE
    assert d.get('exchange.enabled') is False


def test_apply_settings_returns_only_real_changes():
    d = doc()
    changes = apply_settings(d, {'exchange.enabled': True, 'status': 'gated', 'stage': 2})
    assert [c.key for c in changes] == ['exchange.enabled', 'stage']
    assert len(changed_lines(SAMPLE, d.text)) == 2


def test_format_scalar():
    assert format_scalar(True) == 'true'
    assert format_scalar(None) == 'null'
    assert format_scalar(12) == '12'
    assert format_scalar(float('inf')) == '.inf'
    assert format_scalar('it\'s', "'old'") == "'it''s'"
    assert format_scalar('a\nb', "'old'") == '"a\\nb"'
    assert format_scalar('plain', 'old', old_was_string=True) == 'plain'
    assert format_scalar('plain', 'false') == '"plain"'
    assert format_scalar('plain', '') == '"plain"'


# --- file update -----------------------------------------------------------


@pytest.fixture
def pf_file(tmp_path):
    path = tmp_path / 'exchange.yaml'
    path.write_text(SAMPLE, encoding='utf-8')
    return path


def test_update_writes_and_keeps_mode(pf_file):
    os.chmod(str(pf_file), 0o600)
    result = update_settings(str(pf_file), {'exchange.enabled': True, 'exchange.audiences.founders.enabled': True})
    assert result.changed and result.written
    assert pf_file.read_text() == result.after_text
    assert len(changed_lines(SAMPLE, pf_file.read_text())) == 2
    assert os.stat(str(pf_file)).st_mode & 0o777 == 0o600
    assert sorted(os.listdir(str(pf_file.parent))) == ['exchange.yaml']


def test_update_no_op_leaves_file_alone(pf_file):
    os.utime(str(pf_file), (1_000_000_000, 1_000_000_000))
    result = update_settings(str(pf_file), {'exchange.enabled': False, 'status': 'gated'})
    assert not result.changed and not result.written
    assert pf_file.read_text() == SAMPLE
    assert os.stat(str(pf_file)).st_mtime == 1_000_000_000
    assert sorted(os.listdir(str(pf_file.parent))) == ['exchange.yaml']


def test_update_check_mode(pf_file):
    mtime = os.stat(str(pf_file)).st_mtime_ns
    result = update_settings(str(pf_file), {'status': 'open'}, check_mode=True)
    assert result.changed and not result.written
    assert 'status: "open"' in result.after_text
    assert pf_file.read_text() == SAMPLE
    assert os.stat(str(pf_file)).st_mtime_ns == mtime


def test_update_refused_writes_nothing(pf_file):
    with pytest.raises(PFEditError):
        update_settings(str(pf_file), {'exchange.enabled': True, 'exchange.listings': False})
    assert pf_file.read_text() == SAMPLE


def test_update_crash_keeps_original(pf_file, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(atomic_file.os, 'replace', broken_replace)
    with pytest.raises(OSError):
        update_settings(str(pf_file), {'exchange.enabled': True})
    assert pf_file.read_text() == SAMPLE
    assert sorted(os.listdir(str(pf_file.parent))) == ['exchange.yaml']


def test_update_lock_timeout_is_a_pf_edit_error(pf_file):
    with atomic_file.edit_lock(str(pf_file)):
        with pytest.raises(PFEditError, match='timed out .* waiting for lock .*exchange.yaml.lock'):
            update_settings(str(pf_file), {'stage': 2}, lock_timeout=0.2)
    assert pf_file.read_text() == SAMPLE


def test_update_backup(pf_file):
    result = update_settings(str(pf_file), {'stage': 2}, backup=lambda p: p + '.orig')
    assert result.backup_file == str(pf_file) + '.orig'


def test_update_requires_settings(pf_file):
    with pytest.raises(PFEditError, match='settings must be a non-empty mapping'):
        update_settings(str(pf_file), {})


def test_update_missing_file(tmp_path):
    with pytest.raises(PFEditError, match='cannot read PF file: file not found; expected it to exist'):
        update_settings(str(tmp_path / 'none.yaml'), {'a': 1})


def test_load_from_file(pf_file):
    assert isinstance(load(str(pf_file)), PFDocument)


# --- the platform's own PF files, when the corpus is present -----------------


def scalar_keys(node, prefix=''):
    for key, value in node.items():
        dotted = prefix + str(key)
        if isinstance(value, dict):
            yield from scalar_keys(value, dotted + '.')
        elif not isinstance(value, list):
            yield dotted, value


def flipped(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return '%s-changed' % value


@pytest.mark.skipif(not os.path.isdir(CORPUS), reason='the platform fixtures are not at %s (../shared beside the checkout, or NEXUS_COS_FIXTURES)' % CORPUS)
@pytest.mark.parametrize('path', sorted(glob.glob(os.path.join(CORPUS, '*.yaml'))), ids=os.path.basename)
def test_every_scalar_of_platform_pf_files_edits_in_one_line(path):
    original = load(path)
    keys = list(scalar_keys(original.data))
    assert keys
    for key, value in keys:
        d = copy.copy(original)  # set() replaces text and data, never mutates them
        change = d.set(key, flipped(value))
        assert change.after == flipped(value)
        assert len(changed_lines(original.text, d.text)) == 1, key


@pytest.mark.skipif(not os.path.isdir(CORPUS), reason='the platform fixtures are not at %s (../shared beside the checkout, or NEXUS_COS_FIXTURES)' % CORPUS)
def test_platform_marketplace_steps():
    d = load(os.path.join(CORPUS, 'marketplace-phase3.yaml'))
    before = d.text
    changes = apply_settings(d, {
        'marketplace.enabled': True,
        'marketplace.progressive_access.founders.enabled': True,
        'marketplace.trading_features.peer_to_peer.enabled': True,
    })
    assert len(changes) == 3
    lines = changed_lines(before, d.text)
    assert ('  enabled: false # Requires manual activation', '  enabled: true # Requires manual activation') in lines
    assert len(lines) == 3
