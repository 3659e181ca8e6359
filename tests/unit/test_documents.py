# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The collection's one reader of each format (documents): what it refuses,
naming the file and line, and what it reads."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import documents


def load_bytes(tmp_path, data, loader=documents.load_yaml_file, name="pf.yaml"):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(documents.DocumentError) as caught:
        loader(str(path), display=name)
    return caught.value


def test_duplicate_top_level_key_names_file_line_and_key(tmp_path):
    err = load_bytes(tmp_path, b"version: '1'\npf_id: A\nstatus: x\npf_id: B\n")
    assert str(err) == ("pf.yaml:4: duplicate key 'pf_id' (first at line 2); expected each key "
                        "once per mapping")


def test_duplicate_nested_key(tmp_path):
    err = load_bytes(tmp_path, b"marketplace:\n  enabled: false\n  trading: false\n"
                               b"  enabled: true\n")
    assert (err.line, err.file) == (4, "pf.yaml") and "'enabled'" in err.message


BILLION_LAUGHS = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_refused(tmp_path):
    err = load_bytes(tmp_path, BILLION_LAUGHS)
    assert err.line == 1 and "found anchor &a" in err.message


def test_any_alias_is_refused(tmp_path):
    err = load_bytes(tmp_path, b"a: 1\nb: *x\n")
    assert err.line == 2 and "found alias *x" in err.message


def test_binary_garbage(tmp_path):
    err = load_bytes(tmp_path, b"\x89PNG\r\n\x1a\n" + bytes(range(128, 256)))
    assert "is not valid UTF-8" in err.message and err.line == 1


def test_nul_byte(tmp_path):
    err = load_bytes(tmp_path, b"version: '1.0.0'\npf_id: \x00\n")
    assert err.line == 2 and "NUL byte at offset 24" in err.message


def test_control_character(tmp_path):
    err = load_bytes(tmp_path, b"a: 1\nb: \x07\n")
    assert err.line == 2 and "#x0007" in err.message


@pytest.mark.parametrize("content", [b"", b"\n\n", b"# just a comment\n", b"---\n"])
def test_empty_file(tmp_path, content):
    err = load_bytes(tmp_path, content)
    assert err.message == "is empty (no YAML document); expected a mapping"


@pytest.mark.parametrize("content,found", [
    (b"- version\n- pf_id\n", "top level is a list; expected a mapping"),
    (b"just text\n", 'top level is string "just text"; expected a mapping'),
    (b"42\n", "top level is integer 42; expected a mapping"),
])
def test_top_level_not_a_mapping(tmp_path, content, found):
    assert load_bytes(tmp_path, content).message == found


def test_size_cap(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: '" + b"x" * 2048 + b"'\n")
    with pytest.raises(documents.DocumentError, match="expected at most 1024"):
        documents.load_yaml_file(str(path), limit=1024)
    assert documents.load_yaml_file(str(path))["a"] == "x" * 2048


def test_default_size_cap_refuses_before_parsing(tmp_path):
    err = load_bytes(tmp_path, b"#" * (documents.MAX_FILE_BYTES + 1))
    assert "expected at most %d" % documents.MAX_FILE_BYTES in err.message


@pytest.mark.parametrize("content", [
    b"a: " + b"[" * 400,
    b"a:\n" + b"".join(b" " * i + b"- \n" for i in range(100)),
], ids=["flow", "block"])
def test_deep_nesting_is_refused_without_recursion_error(tmp_path, content):
    assert "nesting is deeper than 64 levels" in load_bytes(tmp_path, content).message


def test_yaml_1_1_booleans_stay_strings(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("a: yes\nb: off\nc: true\nd: False\ne: 'true'\n")
    assert documents.load_yaml_file(str(path)) == {"a": "yes", "b": "off", "c": True, "d": False,
                                            "e": "true"}


@pytest.mark.parametrize("content,fragment", [
    (b"a: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
    (b"a: 1\n---\nb: 2\n", "expected a single document"),
    (b"a: b: c\n", "invalid YAML: mapping values are not allowed here"),
    (b"a: 'open\n", "invalid YAML"),
    (b"? [1, 2]\n: x\n", "unhashable key"),
    (b"a: 2024-13-45\n", "month must be in 1..12"),
])
def test_other_yaml_problems(tmp_path, content, fragment):
    assert fragment in load_bytes(tmp_path, content).message


def test_missing_file_and_non_regular_file(tmp_path):
    with pytest.raises(documents.DocumentError, match="file not found"):
        documents.load_yaml_file(str(tmp_path / "nope.yaml"))
    with pytest.raises(documents.DocumentError, match="not a regular file"):
        documents.load_json_file(str(tmp_path))


# Flag store (JSON) hazards

def test_json_duplicate_key_names_line_path_and_first_line(tmp_path):
    err = load_bytes(tmp_path, b'{\n  "feature_flags": {\n    "A": {"enabled": true,\n'
                               b'          "enabled": false}\n  }\n}\n',
                     loader=documents.load_json_file, name="flags.json")
    assert str(err) == ('flags.json:4: duplicate key "enabled" in feature_flags.A (first at line 3); '
                        "expected each key once per object (JSON readers keep only the last one)")


def test_json_duplicate_top_level_flag(tmp_path):
    err = load_bytes(tmp_path, b'{"feature_flags": {"A": {}, "B": {}, "A": {}}}',
                     loader=documents.load_json_file, name="flags.json")
    assert '"A"' in err.message and err.line == 1


@pytest.mark.parametrize("content,fragment", [
    (b'{"a": NaN}', "NaN is not valid JSON"),
    (b'{"a": Infinity}', "Infinity is not valid JSON"),
    (b'\xef\xbb\xbf{"a": 1}', "byte-order mark"),
    (b'[1, 2]', "top level is a list; expected a JSON object"),
    (b'{"a": 1,}', "invalid JSON"),
    (b'', "invalid JSON: Expecting value"),
    (b'{"a": 1} {"b": 2}', "Extra data"),
    (b'{"a": "\xff"}', "is not valid UTF-8"),
    (b'{"a": \x00}', "NUL byte"),
    (b'[' * 100000, "nesting too deep"),
    (b'{"a": ' + b'9' * 5000 + b'}', "invalid JSON"),
])
def test_flag_store_hazards(tmp_path, content, fragment):
    err = load_bytes(tmp_path, content, loader=documents.load_json_file, name="flags.json")
    assert fragment in err.message
