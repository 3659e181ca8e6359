# -*- coding: utf-8 -*-
"""Atomic whole-file writes and the sidecar edit lock."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import atomic_file
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import (
    EditLockError,
    create_atomic,
    edit_lock,
    fsync_dir,
    write_atomic,
)


def listing(directory):
    return sorted(os.listdir(str(directory)))


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_write_sets_the_given_mode_whatever_the_umask(tmp_path):
    target = tmp_path / 'f.json'
    old = os.umask(0o077)
    try:
        write_atomic(str(target), b'{}\n', mode=0o644)
    finally:
        os.umask(old)
    assert target.read_bytes() == b'{}\n'
    assert mode_of(target) == 0o644
    assert listing(tmp_path) == ['f.json']


def test_write_replaces_the_file_with_the_default_mode(tmp_path):
    target = tmp_path / 'f.json'
    target.write_text('old\n')
    os.chmod(str(target), 0o600)
    inode = os.stat(str(target)).st_ino
    write_atomic(str(target), 'new\n')
    assert target.read_text() == 'new\n'
    assert mode_of(target) == 0o640
    assert os.stat(str(target)).st_ino != inode  # replaced, not rewritten in place


def test_mode_none_keeps_the_replaced_file_mode(tmp_path):
    target = tmp_path / 'f.yaml'
    target.write_text('old\n')
    os.chmod(str(target), 0o604)
    write_atomic(str(target), 'new\n', mode=None)
    assert target.read_text() == 'new\n'
    assert mode_of(target) == 0o604


def test_mode_none_creates_new_file_with_umask_mode(tmp_path):
    target = tmp_path / 'new.json'
    old = os.umask(0o027)
    try:
        write_atomic(str(target), '{}\n', mode=None)
    finally:
        os.umask(old)
    assert target.read_text() == '{}\n'
    assert mode_of(target) == 0o640


def test_prepare_sees_the_complete_temp_file_before_the_rename(tmp_path):
    target = tmp_path / 'f.json'
    target.write_text('old\n')
    seen = []

    def prepare(tmp, path):
        seen.append((os.path.dirname(tmp), open(tmp).read(), path, target.read_text()))

    write_atomic(str(target), 'new\n', prepare=prepare)
    assert seen == [(str(tmp_path), 'new\n', str(target), 'old\n')]


def test_interrupt_during_write_cleans_up(tmp_path):
    target = tmp_path / 'f.json'
    target.write_text('old\n')

    def interrupted(tmp, dest):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(str(target), 'new\n', mode=None, prepare=interrupted)
    assert target.read_text() == 'old\n'
    assert listing(tmp_path) == ['f.json']


def test_failed_rename_keeps_original_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / 'f.json'
    target.write_text('old\n')

    def broken_replace(src, dst):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(atomic_file.os, 'replace', broken_replace)
    with pytest.raises(OSError):
        write_atomic(str(target), 'new\n')
    assert target.read_text() == 'old\n'
    assert listing(tmp_path) == ['f.json']


def test_create_makes_a_complete_file_and_refuses_an_existing_one(tmp_path):
    target = tmp_path / 'lock'
    create_atomic(str(target), '{"run_id": "a"}\n', mode=0o644)
    assert target.read_text() == '{"run_id": "a"}\n'
    assert mode_of(target) == 0o644
    with pytest.raises(FileExistsError):
        create_atomic(str(target), '{"run_id": "b"}\n')
    assert target.read_text() == '{"run_id": "a"}\n'
    assert listing(tmp_path) == ['lock']


def test_fsync_dir_tolerates_a_filesystem_that_refuses(tmp_path, monkeypatch):
    def refused(fd):
        raise OSError(errno.EINVAL, 'Invalid argument')

    monkeypatch.setattr(atomic_file.os, 'fsync', refused)
    fsync_dir(str(tmp_path))


def test_fsync_dir_reports_real_errors(tmp_path, monkeypatch):
    def failed(fd):
        raise OSError(errno.EIO, 'Input/output error')

    monkeypatch.setattr(atomic_file.os, 'fsync', failed)
    with pytest.raises(OSError, match='Input/output error'):
        fsync_dir(str(tmp_path))


def test_lock_times_out_while_held(tmp_path):
    target = str(tmp_path / 'f.json')
    with edit_lock(target) as lock_path:
        assert lock_path == target + '.lock'
        with pytest.raises(EditLockError, match='timed out .* waiting for lock .*f.json.lock'):
            with edit_lock(target, timeout=0.2):
                pass
    assert not os.path.exists(target + '.lock')
    with edit_lock(target):  # free again
        pass


def test_lock_error_is_an_os_error(tmp_path):
    missing_dir = str(tmp_path / 'gone' / 'f.json')
    with pytest.raises(OSError, match='cannot create lock file'):
        with edit_lock(missing_dir):
            pass


def test_the_next_writer_sweeps_what_a_killed_writer_left(tmp_path):
    """A writer killed between its temp file and its rename leaves
    .<name>.<random>.tmp and <name>.lock; the next edit of that file takes the
    sidecar, removes the temp files (its own kind only) and leaves no lock."""
    target = tmp_path / "feature-flags.json"
    target.write_text("{}\n")
    (tmp_path / ".feature-flags.json.abc123_x.tmp").write_text("half")
    (tmp_path / "feature-flags.json.lock").write_text("")
    (tmp_path / ".other.json.abc123.tmp").write_text("not ours to judge")
    with atomic_file.edit_lock(str(target)):
        atomic_file.write_atomic(str(target), "{\"a\": 1}\n")
    assert sorted(os.listdir(tmp_path)) == [".other.json.abc123.tmp", "feature-flags.json"]
    assert atomic_file.temp_file_pattern(str(target)).match(".feature-flags.json.k2j_9x.tmp")
