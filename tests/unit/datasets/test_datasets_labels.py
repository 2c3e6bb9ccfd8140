"""Label files and dataset references: what is accepted, and errors that name file and line."""

from __future__ import annotations

import pytest

from pomona.datasets import parse_ref
from pomona.datasets._labels import check_known, count_labels, read_label_csv, subfolder_label
from pomona.errors import InvalidInputError
from pomona.types import DatasetRef


def test_a_label_csv_maps_files_to_labels_with_their_lines() -> None:
    table = read_label_csv(
        "file,grade,variety\n./good/a.png,good,gala\n\nbad/b.png, bad ,golden\n",
        name="labels.csv",
    )
    assert table.labels == {"good/a.png": "good", "bad/b.png": "bad"}
    assert table.lines == {"good/a.png": 2, "bad/b.png": 4}


def test_a_two_column_csv_needs_no_label_column_name() -> None:
    table = read_label_csv("path,species\nx.png,setosa\n", name="l.csv")
    assert table.labels == {"x.png": "setosa"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("name,colour,size\na,b,c\n", "names no file column"),
        ("file,variety,size\na,b,c\n", "names no label column"),
        ("file,label\na.png,good\nb.png,\n", "l.csv, line 3"),
        ("file,label\na.png,good\na.png,bad\n", "line 3: 'a.png' is labelled 'bad' here"),
        ("file,label,x\na.png\n", "line 2: expected 3 fields"),
    ],
    ids=["empty", "no-file-column", "no-label-column", "empty-label", "twice", "short-row"],
)
def test_bad_label_files_are_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        read_label_csv(text, name="l.csv")


def test_a_label_file_naming_unknown_files_names_the_first_and_counts_the_rest() -> None:
    table = read_label_csv("file,label\na.png,good\nzz.png,bad\nyy.png,ok\n", name="l.csv")
    with pytest.raises(
        InvalidInputError, match=r"line 3: 'zz.png' is not a file of apples:2 \(and 1 more\)"
    ):
        check_known(table, ["a.png"], "apples:2")
    check_known(table, ["a.png", "zz.png", "yy.png"], "apples:2")


def test_labels_from_sub_folders_and_their_counts() -> None:
    assert subfolder_label("good/apple_1.png") == "good"
    assert subfolder_label("apple_1.png") is None
    assert count_labels(["ok", "good", None, "good"]) == {"good": 2, "(none)": 1, "ok": 1}


@pytest.mark.parametrize(
    ("text", "ref"),
    [("apples", DatasetRef("apples")), ("apples:3", DatasetRef("apples", 3)),
     ("apples:latest", DatasetRef("apples"))],
)  # fmt: skip
def test_references_parse(text: str, ref: DatasetRef) -> None:
    assert parse_ref(text) == ref
    assert str(parse_ref(text)) == ("apples" if ref.version is None else text)


@pytest.mark.parametrize("text", ["apples:0", "apples:x", ":3", "app les", "../x"])
def test_bad_references_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_ref(text)
