"""The one writer every file goes through: all of the new file, or the old one untouched."""

from __future__ import annotations

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
