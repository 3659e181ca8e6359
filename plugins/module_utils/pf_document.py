# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Round-trip edits of Nexus COS PF YAML files (``pfs/*.yaml`` of the platform checkout).

Runs on the managed host, which has PyYAML but no round-trip YAML library, so
edits are made on the text: the line holding a dotted key
(``marketplace.progressive_access.founders.enabled``) is found by
indentation and only its scalar value is replaced. Comments, key order,
blank lines and the quoting style of the old value are kept.

The file is read by ``documents``, the reader the validator and the gates
use, so the editor sees every value as they do (``enabled: off`` is the
string "off", not false) and refuses what they refuse (anchors, aliases,
duplicate keys, YAML 1.1 ``!!bool yes``). Every edit is checked: the new
text is read again the same way and the only difference allowed is the one
key, with exactly the new value. Anything else (flow style, tags,
multi-line scalars at the target, a key that cannot be found in block style)
is refused with ``cannot edit KEY in FILE safely: ...`` rather than guessed
at. A string is never written as a plain YAML 1.1 boolean word (``on``,
``off``, ``yes``, ``no``, ``y``, ``n``): YAML 1.1 readers would take it for
a boolean, so it is quoted.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections import namedtuple

from ansible_collections.nexus_cos.launch.plugins.module_utils import documents
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import (
    EDIT_LOCK_TIMEOUT,
    EditLockError,
    edit_lock,
    write_atomic,
)


class PFEditError(Exception):
    """A PF file that cannot be read, or a setting that cannot be changed safely."""


Change = namedtuple('Change', ['key', 'before', 'after'])


# ---------------------------------------------------------------------------
# Parsing


def load_yaml(text, source='<string>'):
    """Parse one PF document with the collection's YAML reader; errors name the file."""
    try:
        return documents.load_yaml_text(text, source)
    except documents.DocumentError as exc:
        raise PFEditError(str(exc))


def _split_lines(text):
    """Lines with their endings; only '\\n' ends a line (str.splitlines would
    also split on characters YAML treats as content)."""
    return re.findall(r'[^\n]*\n|[^\n]+$', text)


def _body(line):
    return line[:-len(_ending(line))] if _ending(line) else line


def _ending(line):
    if line.endswith('\r\n'):
        return '\r\n'
    if line.endswith('\n'):
        return '\n'
    return ''


def _indent(body):
    return len(body) - len(body.lstrip(' '))


_DOC_MARKER = re.compile(r'^(?:---|\.\.\.)(?:[ \t]|$)|^%')


def _is_content(body):
    stripped = body.strip()
    return bool(stripped) and not stripped.startswith('#') and not _DOC_MARKER.match(body)


# A block mapping key on its own line: quoted, or plain up to the first ': '.
_KEY_LINE = re.compile(
    r'''^(?P<indent>\ *)
        (?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{}\[\]&*!|>%@`,?:-][^\r\n]*?)
        [ \t]*:(?=[ \t]|$)''', re.VERBOSE)


def _key_name(text):
    if text[:1] in ('"', "'"):
        try:
            return next(iter(documents.load_yaml_text('%s: 0\n' % text)))
        except documents.DocumentError:
            return None  # not a key this editor can name; never matches
    return text


def _kind(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, (int, float)):
        return 'number'
    if isinstance(value, str):
        return 'string'
    return type(value).__name__


def _describe_key(key):
    return key if key else '<document root>'


# ---------------------------------------------------------------------------
# Values


def _same(a, b):
    """Equality that also tells bool from int and 1 from 1.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _differences(a, b, prefix=()):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                out.append('.'.join(str(p) for p in prefix + (key,)))
            else:
                out.extend(_differences(a[key], b[key], prefix + (key,)))
        if not out and list(a) != list(b):
            out.append('.'.join(str(p) for p in prefix) + ' (key order)')
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for index, (x, y) in enumerate(zip(a, b)):
            out.extend(_differences(x, y, prefix + (index,)))
        return out
    return [] if _same(a, b) else ['.'.join(str(p) for p in prefix) or '<document root>']


def _plain_ok(value):
    """A string that reads back as itself when written without quotes, in
    YAML 1.2 and YAML 1.1 alike (so never a YAML 1.1 boolean word)."""
    if not value or value != value.strip() or '\n' in value or ' #' in value or '\t' in value:
        return False
    if documents.YAML_1_1_BOOLEAN.match(value):
        return False
    try:
        return _same(documents.load_yaml_text('k: %s\n' % value), {'k': value})
    except documents.DocumentError:
        return False


def _float_text(value):
    """A float as YAML writes it (PyYAML's representer): .nan, .inf, and a
    dot before any exponent, which YAML's float pattern needs."""
    if math.isnan(value):
        return '.nan'
    if value in (float('inf'), float('-inf')):
        return '.inf' if value > 0 else '-.inf'
    text = repr(value).lower()
    if '.' not in text and 'e' in text:
        text = text.replace('e', '.0e', 1)
    return text


def _printable(value):
    return all(ch == '\t' or (ord(ch) >= 0x20 and ord(ch) != 0x7f and not 0x80 <= ord(ch) <= 0x9f)
               for ch in value)


def format_scalar(value, old_text='', old_was_string=False):
    """YAML text for a scalar, in the quoting style of the value it replaces:
    strings keep single or double quotes; a plain old string stays plain when
    the new one allows it; otherwise double quotes (the PF files' own style)."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, str):
        style = old_text[:1]
        if style == "'" and _printable(value) and '\n' not in value:
            return "'%s'" % value.replace("'", "''")
        if style not in ('"', "'") and old_was_string and _plain_ok(value):
            return value
        # JSON string syntax is valid YAML double-quoted syntax.
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(type(value).__name__)


# ---------------------------------------------------------------------------
# The document


class PFDocument:
    """A PF file's text and its parsed data, edited one key at a time."""

    def __init__(self, text, source='<string>'):
        if isinstance(text, bytes):
            try:
                text = documents.decode_text(text, source)
            except documents.DocumentError as exc:
                raise PFEditError(str(exc))
        self.text = text
        self.source = source
        self.data = load_yaml(text, source)

    def _refuse(self, key, reason):
        return PFEditError('cannot edit %s in %s safely: %s' % (key, self.source, reason))

    def _resolve(self, key, data=None):
        """(parent mapping, actual key object) for a dotted key in the parsed data."""
        node = self.data if data is None else data
        parts = key.split('.')
        if not key or any(not p for p in parts):
            raise PFEditError('%s: %r is not a dotted key path such as marketplace.enabled' % (self.source, key))
        for depth, part in enumerate(parts):
            where = '.'.join(parts[:depth])
            if not isinstance(node, dict):
                kind = 'a list' if isinstance(node, list) else 'a %s value' % _kind(node)
                raise PFEditError('%s: key %s not found: %s is %s, not a mapping'
                                  % (self.source, key, _describe_key(where), kind))
            match = [k for k in node if k == part or (not isinstance(k, str) and str(k).lower() == part.lower())]
            if not match:
                raise PFEditError('%s: key %s not found: no %s under %s (keys there: %s)'
                                  % (self.source, key, part, _describe_key(where),
                                     ', '.join(str(k) for k in node) or 'none'))
            if depth == len(parts) - 1:
                return node, match[0]
            node = node[match[0]]
        raise AssertionError('unreachable')

    def get(self, key):
        parent, actual = self._resolve(key)
        return parent[actual]

    def _locate(self, key):
        """Line index of ``key`` in block-style text, found by indentation."""
        lines = _split_lines(self.text)
        start, end, parent_indent = 0, len(lines), -1
        found = None
        for part in key.split('.'):
            child_indent = None
            hits = []
            for index in range(start, end):
                body = _body(lines[index])
                if not _is_content(body):
                    continue
                indent = _indent(body)
                if indent <= parent_indent:
                    break
                if child_indent is None:
                    child_indent = indent
                if indent != child_indent:
                    continue
                match = _KEY_LINE.match(body)
                if match and _key_name(match.group('key')) == part:
                    hits.append(index)
            if not hits:
                raise self._refuse(key, 'key %s is not written in block style on its own line '
                                        '(flow style or a list item?)' % part)
            if len(hits) > 1:
                raise self._refuse(key, 'key %s appears on lines %s'
                                   % (part, ', '.join(str(h + 1) for h in hits)))
            found = hits[0]
            block_end = end
            for index in range(found + 1, end):
                body = _body(lines[index])
                if _is_content(body) and _indent(body) <= child_indent:
                    block_end = index
                    break
            start, end, parent_indent = found + 1, block_end, child_indent
        return lines, found, end

    def _value_span(self, key, body, match):
        """(start, end) of the scalar value text on the key's line."""
        after = match.end()  # just past the colon
        rest = body[after:]
        value_at = after + len(rest) - len(rest.lstrip(' \t'))
        value = body[value_at:]
        if not value or value.startswith('#'):
            return after, after
        first = value[0]
        if first in '{[':
            raise self._refuse(key, 'its value is in flow style (%s...)' % first)
        if first in '&*':
            raise self._refuse(key, 'its value is an anchor or alias (%s)' % value.split()[0])
        if first == '!':
            raise self._refuse(key, 'its value carries a tag (%s)' % value.split()[0])
        if first in '|>':
            raise self._refuse(key, 'its value is a multi-line block scalar (%s)' % first)
        if first in '"\'':
            index = 1
            while index < len(value):
                char = value[index]
                if first == '"' and char == '\\':
                    index += 2
                    continue
                if char == first:
                    if first == "'" and value[index + 1:index + 2] == "'":
                        index += 2
                        continue
                    break
                index += 1
            else:
                raise self._refuse(key, 'its quoted value continues on the next line')
            end = value_at + index + 1
            tail = body[end:].strip()
            if tail and not tail.startswith('#'):
                raise self._refuse(key, 'unexpected text after its value: %s' % tail)
            return value_at, end
        comment = re.search(r'[ \t]#', value)
        text = value[:comment.start()] if comment else value
        return value_at, value_at + len(text.rstrip(' \t'))

    def set(self, key, value):
        """Set ``key`` to ``value``; returns a Change, or None when it already holds."""
        if isinstance(value, (dict, list, tuple, set)):
            raise PFEditError('%s: %s: only a scalar (string, number, boolean or null) can be set, '
                              'found a %s' % (self.source, key, type(value).__name__))
        parent, actual = self._resolve(key)
        before = parent[actual]
        if isinstance(before, (dict, list)):
            raise self._refuse(key, 'it holds a %s, not a scalar value'
                               % ('mapping' if isinstance(before, dict) else 'list'))
        if _same(before, value):
            return None

        lines, index, block_end = self._locate(key)
        line = lines[index]
        body = _body(line)
        start, end = self._value_span(key, body, _KEY_LINE.match(body))
        for follower in range(index + 1, block_end):
            if _is_content(_body(lines[follower])):
                raise self._refuse(key, 'its value spans several lines (line %d continues it)' % (follower + 1))
        new_text = format_scalar(value, body[start:end], isinstance(before, str))
        if start == end:
            new_body = body[:start] + ' ' + new_text + body[end:]
        else:
            new_body = body[:start] + new_text + body[end:]
        lines[index] = new_body + _ending(line)
        text = ''.join(lines)

        try:
            data = documents.load_yaml_text(text, self.source)
        except documents.DocumentError as exc:
            raise self._refuse(key, 'the edited line %d does not read back: %s' % (index + 1, exc.message))
        expected = copy.deepcopy(self.data)
        exp_parent, exp_key = self._resolve(key, expected)
        exp_parent[exp_key] = value
        if not _same(data, expected):
            try:
                got_parent, got_key = self._resolve(key, data)
                got = got_parent[got_key]
            except PFEditError:
                got = None
            if not _same(got, value):
                raise self._refuse(key, 'the new value %s would read back as %r'
                                   % (new_text, got))
            raise self._refuse(key, 'the edit would also change %s'
                               % ', '.join(_differences(expected, data)))
        self.text = text
        self.data = data
        return Change(key, before, value)


def loads(text, source='<string>'):
    return PFDocument(text, source)


def load(path):
    try:
        text = documents.read_text(path)
    except documents.DocumentError as exc:
        raise PFEditError('%s: cannot read PF file: %s' % (exc.where, exc.message))
    return PFDocument(text, path)


def apply_settings(document, settings):
    """Apply ``{dotted key: value}`` in order; returns the Changes (settings that
    already hold are left out). Nothing is applied if any setting is refused."""
    working = PFDocument.__new__(PFDocument)
    working.__dict__.update(document.__dict__)
    changes = []
    for key, value in settings.items():
        change = working.set(key, value)
        if change is not None:
            changes.append(change)
    document.text, document.data = working.text, working.data
    return changes


class PFUpdate(namedtuple('PFUpdate', ['changes', 'before_text', 'after_text', 'backup_file', 'written'])):

    @property
    def changed(self):
        return bool(self.changes)


def update_settings(path, settings, check_mode=False, backup=None, prepare=None, lock_timeout=EDIT_LOCK_TIMEOUT):
    """Apply ``settings`` to the PF file at ``path`` and write it atomically.

    A request whose values already hold touches nothing; a real change is
    re-read and re-applied under the sidecar lock before the write.
    ``backup(path)`` runs under the lock before the write.
    """
    if not isinstance(settings, dict) or not settings:
        raise PFEditError('%s: settings must be a non-empty mapping of dotted keys to values' % path)
    document = load(path)
    before_text = document.text
    changes = apply_settings(document, settings)
    if not changes or check_mode:
        return PFUpdate(changes, before_text, document.text, None, False)
    try:
        with edit_lock(path, timeout=lock_timeout):
            document = load(path)
            before_text = document.text
            changes = apply_settings(document, settings)
            if not changes:
                return PFUpdate(changes, before_text, document.text, None, False)
            backup_file = backup(path) if backup is not None else None
            write_atomic(path, document.text, mode=None, prepare=prepare)
    except EditLockError as exc:
        raise PFEditError(str(exc))
    return PFUpdate(changes, before_text, document.text, backup_file, True)
