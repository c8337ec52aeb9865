"""Where data comes from: paths, file:// and fsspec URLs; what lineage records."""

from __future__ import annotations

import fsspec
import pytest

from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.data.sources import fetch, is_url, public_source


def test_local_path_is_read_in_place(tmp_path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,nace\n")
    with fetch(str(path)) as local:
        assert local.path == path.resolve() and local.source == str(path.resolve())
    assert path.exists()  # never removed: it is the user's file


def test_file_url_is_a_local_path(tmp_path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,nace\n")
    with fetch(path.as_uri()) as local:
        assert local.path == path.resolve()


def test_fsspec_url_is_copied_then_removed() -> None:
    with fsspec.open("memory://bucket/extract.csv", "wb") as remote:
        remote.write(b"text,nace\nbar,5630Z\n")
    with fetch("memory://bucket/extract.csv") as local:
        copy = local.path
        assert copy.name == "extract.csv"
        assert copy.read_bytes() == b"text,nace\nbar,5630Z\n"
        assert local.source == "memory://bucket/extract.csv"
    assert not copy.exists()


@pytest.mark.parametrize(
    ("location", "error", "message"),
    [
        ("/no/such/file.csv", NotFound, "does not exist; check the path"),
        ("memory://bucket/missing.csv", NotFound, "does not exist; check the URL"),
        ("nosuchproto://x/y.csv", InvalidInput, "not a URL mlcycle can read"),
    ],
)
def test_missing_sources_are_one_sentence(location, error, message) -> None:
    with pytest.raises(error, match=message), fetch(location):
        pass


def test_folder_is_refused(tmp_path) -> None:
    with pytest.raises(InvalidInput, match="is a folder"), fetch(str(tmp_path)):
        pass


def test_recorded_source_carries_no_secret() -> None:
    url = "https://alice:s3cret@data.example.org:8443/extracts/2024.csv?token=abc#x"
    assert public_source(url) == "https://data.example.org:8443/extracts/2024.csv"
    assert is_url(url) and not is_url("C:\\data\\x.csv") and not is_url("data/x.csv")
