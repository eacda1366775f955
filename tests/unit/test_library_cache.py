"""The checked library kept as JSON between processes (library/cache.py): used only for the
exact same files, never stale, off with JAKSIM_CACHE_DIR= (empty), and never needed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jaksim.errors import LibraryError
from jaksim.library import cache as library_cache
from jaksim.library import loader

PACKAGE = Path(loader.library_root())


@pytest.fixture
def lib_copy(tmp_path, monkeypatch):
    folder = tmp_path / "lib"
    shutil.copytree(PACKAGE, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setenv(library_cache.ENV_VAR, str(tmp_path / "cache"))
    loader._load_all.cache_clear()
    loader._library.cache_clear()
    yield folder
    loader._load_all.cache_clear()
    loader._library.cache_clear()


def test_second_load_reads_the_cache_and_gives_the_same_data(lib_copy, tmp_path):
    first = loader._load_all(lib_copy)
    files = list((tmp_path / "cache").glob("library-*.json"))
    assert len(files) == 1
    loader._load_all.cache_clear()
    assert library_cache.read(lib_copy, tuple(loader.FILES)) == first
    assert loader._load_all(lib_copy) == first


def test_a_changed_file_is_checked_again_never_read_from_the_cache(lib_copy):
    loader._load_all(lib_copy)
    p = lib_copy / "parameters.yaml"
    p.write_text(p.read_text().replace("hazard_ratios:", "hazard_ratio:", 1))
    loader._load_all.cache_clear()
    assert library_cache.read(lib_copy, tuple(loader.FILES)) is None
    with pytest.raises(LibraryError, match="hazard_ratio"):
        loader._load_all(lib_copy)


def test_cache_off_writes_nothing(lib_copy, tmp_path, monkeypatch):
    monkeypatch.setenv(library_cache.ENV_VAR, "")
    loader._load_all(lib_copy)
    assert not (tmp_path / "cache").exists()


def test_unwritable_cache_is_skipped(lib_copy, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(library_cache.ENV_VAR, str(blocker / "sub"))
    assert loader._load_all(lib_copy)["parameters.yaml"]["drugs"]


def test_corrupt_cache_entry_is_ignored(lib_copy):
    data = loader._load_all(lib_copy)
    entry = library_cache._path(lib_copy, tuple(loader.FILES))
    entry.write_text("{not json")
    loader._load_all.cache_clear()
    assert loader._load_all(lib_copy) == data
