"""Sources and table reading: bad input fails with the file (and line) named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pomona.datasets._sources import FileSource, SqlSource, open_source
from pomona.datasets._tables import SchemaGuard, iter_batches
from pomona.errors import InvalidInputError


def _read(source: FileSource | SqlSource) -> pd.DataFrame:
    guard = SchemaGuard()
    frames = [guard.conform(name, b).to_pandas() for name, b in iter_batches(source, 1000)]
    return pd.concat(frames, ignore_index=True)


def test_a_folder_of_images_lists_only_images_sorted(tmp_path: Path) -> None:
    for name in ("b/2.png", "a/1.JPG", "a/notes.txt", "labels.csv", ".hidden/3.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    source = open_source(tmp_path)
    assert isinstance(source, FileSource)
    assert source.kind == "images"
    assert [f.record_id for f in source.files] == ["a/1.JPG", "b/2.png"]


def test_csv_and_parquet_files_read_as_one_table(tmp_path: Path) -> None:
    pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"y": ["c"], "x": [3]}).to_parquet(tmp_path / "b.parquet")
    source = open_source(tmp_path)
    assert source.kind == "table"
    df = _read(source)
    assert df.to_dict("list") == {"x": [1, 2, 3], "y": ["a", "b", "c"]}


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ("x,z\n1,2\n", r"'b.csv' has other columns than 'a.csv': missing \['y'\], extra \['z'\]"),
        ("x,y\nhello,2\n", "'b.csv' column 'x' holds string values where 'a.csv' holds int64"),
    ],
    ids=["columns", "types"],
)
def test_files_whose_schemas_disagree_are_refused(
    tmp_path: Path, second: str, message: str
) -> None:
    (tmp_path / "a.csv").write_text("x,y\n1,2\n")
    (tmp_path / "b.csv").write_text(second)
    with pytest.raises(InvalidInputError, match=message):
        _read(open_source(tmp_path))


def test_a_malformed_csv_row_is_named_by_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(
        InvalidInputError, match=r"'t.csv', line 3: Expected 2 columns, got 3\."
    ) as caught:
        _read(open_source(tmp_path / "t.csv"))
    assert "3,4,5" not in str(caught.value)


def test_a_value_of_the_wrong_type_deep_in_a_csv_is_named_by_line(tmp_path: Path) -> None:
    rows = "1,2\n" * 2_500_000  # 10 MB: past the first block, whose types pyarrow infers
    (tmp_path / "big.csv").write_text(f"a,b\n{rows}7,oops\n")
    with pytest.raises(
        InvalidInputError, match=r"'big.csv', line 2500002: column 'b' holds a value that is not"
    ) as caught:
        _read(open_source(tmp_path / "big.csv"))
    assert "oops" not in str(caught.value)  # a file's contents stay out of messages


def test_an_unreadable_parquet_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "t.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InvalidInputError, match=r"Cannot read 't\.parquet' as Parquet"):
        _read(open_source(tmp_path / "t.parquet"))


def test_missing_and_empty_sources_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        open_source(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="is empty"):
        open_source(tmp_path / "empty")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("hi")
    with pytest.raises(InvalidInputError, match="holds no images"):
        open_source(tmp_path / "docs")


def test_paths_outside_the_allowed_roots_are_refused(tmp_path: Path) -> None:
    allowed, other = tmp_path / "data", tmp_path / "elsewhere"
    for folder in (allowed, other):
        folder.mkdir()
        (folder / "t.csv").write_text("a\n1\n")
    assert open_source(allowed, allowed_roots=[allowed]).kind == "table"
    with pytest.raises(InvalidInputError, match="outside the folders datasets may be read from"):
        open_source(other, allowed_roots=[allowed])
    with pytest.raises(InvalidInputError, match="outside"):
        open_source(allowed / ".." / "elsewhere", allowed_roots=[allowed])
    (allowed / "link.csv").symlink_to(other / "t.csv")
    with pytest.raises(InvalidInputError, match="outside"):
        open_source(allowed, allowed_roots=[allowed])


def test_urls_naming_local_files_do_not_bypass_the_roots(tmp_path: Path) -> None:
    allowed = tmp_path / "data"
    allowed.mkdir()
    table = tmp_path / "t.csv"
    table.write_text("a\n1\n")
    for source in (
        f"local://{table}",
        f"file://{table}",
        f"simplecache::file://{table}",
        "memory://t.csv",
    ):
        with pytest.raises(InvalidInputError, match=r"outside|local disk|chained"):
            open_source(source, allowed_roots=[allowed])
    assert open_source(f"local://{table}").kind == "table"  # no roots: the user's own files


def test_a_query_needs_a_database_url_and_a_url_needs_a_query(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="A query needs a database URL"):
        open_source(tmp_path, query="SELECT 1")
    with pytest.raises(InvalidInputError, match="needs a query"):
        open_source(f"sqlite:///{tmp_path / 'x.db'}")
    source = open_source("postgresql://me:secret@db/x", query="SELECT 1")
    assert isinstance(source, SqlSource)
    assert "secret" not in source.description
