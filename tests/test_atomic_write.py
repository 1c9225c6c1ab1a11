"""The one writer every file goes through: all of the new file, or the old one untouched."""

from __future__ import annotations

import os
import stat

import pytest

from mlgate.gates.paths import atomic_write


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "registry.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w", encoding="utf-8") as fh:
            fh.write("half of the new")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.json"]


def test_a_finished_write_replaces_the_file(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old")
    with atomic_write(target) as fh:
        fh.write(b"new")
        assert target.read_text() == "old"  # nothing shows until the block ends
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_mode_an_ordinary_open_would(tmp_path, mask, mode):
    """mkstemp makes 0600 files: a team's shared registry or a served report would be
    unreadable to the others. The umask decides, as for any file the user writes."""
    from mlgate.gates.paths import atomic_write

    old = os.umask(mask)
    try:
        with atomic_write(tmp_path / "report.md", "w", encoding="utf-8") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.md").stat().st_mode) == mode
