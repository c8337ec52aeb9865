"""Reading files as users bring them: encodings, delimiters, broken and hostile files."""

from __future__ import annotations

import codecs
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlcycle.core.errors import DataError, NotFound
from mlcycle.data.readers import read_raw

ROWS = [("Boulangerie pâtisserie, œufs", "10.71C"), ("Coiffure à domicile", "9602A")]


def _csv(path: Path, text: str, encoding: str = "utf-8", bom: bytes = b"") -> Path:
    path.write_bytes(bom + text.encode(encoding))
    return path


def _table(delimiter: str = ",") -> str:
    lines = [f"text{delimiter}nace"] + [f'"{t}"{delimiter}{c}' for t, c in ROWS]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("encoding", "bom", "found"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8"),
        ("cp1252", b"", "cp1252"),  # œ exists only in the Windows code page
        ("utf-16", b"", "utf-16"),
    ],
)
def test_encodings_are_detected_and_decoded(tmp_path, encoding, bom, found) -> None:
    raw = read_raw(_csv(tmp_path / "d.csv", _table(), encoding, bom))
    assert raw.encoding == found
    assert raw.table.column_names == ["text", "nace"]
    assert raw.table.column("text").to_pylist() == [t for t, _ in ROWS]


def test_latin1_accents_are_read_right(tmp_path) -> None:
    text = "text;nace\nCafé-brasserie, crêperie;5610A\nÉlevage de bovins;0141Z\n"
    raw = read_raw(_csv(tmp_path / "latin1.csv", text, "latin-1"))
    assert raw.table.column("text").to_pylist() == ["Café-brasserie, crêperie", "Élevage de bovins"]
    assert raw.encoding in ("cp1252", "latin-1")


def test_invalid_utf8_past_the_sample_falls_back(tmp_path) -> None:
    body = "".join(f"ligne {i},5610A\n" for i in range(20_000))  # well over 64 KiB
    path = tmp_path / "late.csv"
    path.write_bytes(("text,nace\n" + body).encode() + "Crêperie,5610C\n".encode("cp1252"))
    raw = read_raw(path)
    assert raw.encoding == "cp1252"
    assert raw.table.column("text")[-1].as_py() == "Crêperie"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(tmp_path, delimiter) -> None:
    raw = read_raw(_csv(tmp_path / "d.csv", _table(delimiter)))
    assert raw.delimiter == delimiter
    assert raw.table.column("nace").to_pylist() == ["10.71C", "9602A"]


def test_commas_inside_texts_do_not_fool_the_semicolon_file(tmp_path) -> None:
    text = "text;nace\nvente, achat, location;6820A\nbar, tabac;5630Z\nrestaurant;5610A\n"
    assert read_raw(_csv(tmp_path / "d.csv", text)).delimiter == ";"


def test_quoted_newlines_and_malformed_rows_keep_exact_line_numbers(tmp_path) -> None:
    text = 'text,nace\n"two\nlines",1111A\nx,2222B,extra\ny,3333C\nz\nlast,5555E\n'
    raw = read_raw(_csv(tmp_path / "m.csv", text))
    assert raw.table.column("text").to_pylist() == ["two\nlines", "y", "last"]
    assert raw.lines.tolist() == [2, 5, 7]
    assert [(m.line, m.reason) for m in raw.malformed] == [
        (4, "has 3 fields, expected 2"),
        (6, "has 1 field, expected 2"),
    ]


def test_a_100k_character_text_is_read_whole(tmp_path) -> None:
    long = "a" * 100_000
    raw = read_raw(_csv(tmp_path / "long.csv", f"text,nace\n{long},5610A\nbar,5630Z\n"))
    assert len(raw.table.column("text")[0].as_py()) == 100_000


def test_parquet_is_read_by_content_whatever_its_name(tmp_path) -> None:
    path = tmp_path / "actually-parquet.csv"
    pq.write_table(pa.table({"text": ["a", "b"], "nace": ["5610A", "9602A"]}), path)
    raw = read_raw(path)
    assert raw.format == "parquet" and raw.lines.tolist() == [1, 2]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n\n  \n", "is empty"),
        (b"text,nace\n", "has a header but no data rows"),
        (bytes(range(256)) * 10, "is binary data, not CSV text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "is binary data"),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"x" * 100, "ZIP archive"),
        (b"text,nace,text\na,5610A,b\n", r"names column 'text' twice \(columns 1 and 3\)"),
        (b"text,,nace\na,b,5610A\n", "Column 2 of"),
        # A comment above the header (matplotlib's Stocks.csv starts so), with and
        # without the delimiter in it.
        (
            b"# Data source: yahoo\ndate,a,b\n1990-01-01,1,2\n1990-02-01,3,4\n",
            r"starts with a comment line \('# Data source: yahoo'\), not the column names",
        ),
        (
            b"# From Yahoo, 2020\ndate,a,b\n1990-01-01,1,2\n1990-02-01,3,4\n",
            "starts with a comment line",
        ),
    ],
    ids=[
        "empty",
        "blank",
        "header-only",
        "binary",
        "png",
        "zip",
        "dup-header",
        "no-name",
        "comment",
        "comment-with-comma",
    ],
)
def test_broken_csv_files_get_one_clear_sentence(tmp_path, content, message) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        read_raw(path)
    assert "\n" not in caught.value.message


def test_a_header_that_starts_with_a_hash_is_a_header(tmp_path) -> None:
    path = _csv(tmp_path / "h.csv", "#id,text,nace\n1,a,5610A\n2,b,9602A\n")
    assert read_raw(path).table.column_names == ["#id", "text", "nace"]


def test_truncated_parquet_is_refused_clearly(tmp_path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": ["a"] * 1000, "nace": ["5610A"] * 1000}), path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"not a readable Parquet file.*truncated"):
        read_raw(path)


def test_missing_file_is_not_found(tmp_path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        read_raw(tmp_path / "nope.csv")
