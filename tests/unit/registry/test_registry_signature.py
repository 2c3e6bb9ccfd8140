"""Signatures inferred from data, their JSON form and the compatibility check; references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pomona.errors import ConflictError
from pomona.registry import Signature, SignatureMismatchError, TensorSpec, check_compatible
from pomona.registry._example import decode_example, encode_example, head
from pomona.registry.signature import first_mismatch, infer_schema, infer_signature
from pomona.types import ModelVersionRef


def test_a_table_gives_one_spec_per_column() -> None:
    frame = pd.DataFrame(
        {"size": [1.0, 2.0], "count": [1, 2], "variety": ["gala", "fuji"], "ok": [True, False]}
    )
    assert infer_schema(frame) == (
        TensorSpec("size", "float64"),
        TensorSpec("count", "int64"),
        TensorSpec("variety", "string"),
        TensorSpec("ok", "bool"),
    )


def test_arrays_and_tensors_keep_their_shape_with_a_free_batch_dimension() -> None:
    images = torch.zeros((4, 3, 64, 64), dtype=torch.float32)
    assert infer_schema(images) == (TensorSpec("input", "float32", (-1, 3, 64, 64)),)
    sig = infer_signature(np.zeros((5, 30)), np.zeros(5, dtype=np.int64), np.zeros((5, 2)))
    assert sig.input_kind == "tensor"
    assert [s.shape for s in sig.outputs] == [(-1,), (-1, 2)]
    assert Signature.from_dict(sig.to_dict()) == sig


def _sig(*inputs: TensorSpec, kind: str = "columns") -> Signature:
    return Signature(inputs, (TensorSpec("predictions", "int64"),), kind)


@pytest.mark.parametrize(
    ("new", "field", "message"),
    [
        (_sig(TensorSpec("a", "float64")), "inputs", "1 inputs where the other signature has 2"),
        (
            _sig(TensorSpec("a", "float64"), TensorSpec("c", "float64")),
            "inputs[1].name",
            "input 1 is named 'c', not 'b'",
        ),
        (
            _sig(TensorSpec("a", "float64"), TensorSpec("b", "float32")),
            "inputs[1].dtype",
            "input 'b' has dtype float32, not float64",
        ),
        (
            _sig(TensorSpec("a", "float64"), TensorSpec("b", "float64"), kind="tensor"),
            "input_kind",
            "it takes tensor, not columns",
        ),
    ],
    ids=["count", "name", "dtype", "kind"],
)
def test_the_first_mismatching_field_is_named(new: Signature, field: str, message: str) -> None:
    old = _sig(TensorSpec("a", "float64"), TensorSpec("b", "float64"))
    with pytest.raises(SignatureMismatchError, match=message) as info:
        check_compatible(new, old, new_name="apples:2", old_name="apples@champion")
    assert info.value.details["field"] == field
    assert isinstance(info.value, ConflictError)
    assert "apples:2" in info.value.message and "apples@champion" in info.value.message


def test_free_dimensions_match_any_size() -> None:
    old = Signature((TensorSpec("input", "float32", (-1, 3, 64, 64)),), (), "tensor")
    same = Signature((TensorSpec("input", "float32", (8, 3, 64, 64)),), (), "tensor")
    other = Signature((TensorSpec("input", "float32", (-1, 3, 32, 32)),), (), "tensor")
    assert first_mismatch(same, old) is None
    assert first_mismatch(other, old) == (
        "inputs[0].shape",
        "input 'input' has shape [-1, 3, 32, 32], not [-1, 3, 64, 64]",
    )


def test_examples_round_trip_exactly_and_stay_small() -> None:
    frame = pd.DataFrame({"x": [0.1, 1 / 3, np.nan], "v": ["a", "b", "c"], "n": [1, 2, 3]})
    back = decode_example(encode_example(frame))
    pd.testing.assert_frame_equal(back, frame)
    images = np.random.default_rng(0).random((10, 3, 64, 64)).astype(np.float32)
    small = head(images)
    assert isinstance(small, np.ndarray) and small.shape == (5, 3, 64, 64)
    np.testing.assert_array_equal(decode_example(encode_example(small)), small)
    big = np.zeros((10, 3, 256, 256), dtype=np.float32)
    assert np.asarray(head(big)).shape[0] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apples", ModelVersionRef("apples")),
        ("apples:3", ModelVersionRef("apples", version=3)),
        ("apples@champion", ModelVersionRef("apples", alias="champion")),
        ("apples@latest", ModelVersionRef("apples")),
    ],
)
def test_references_parse_and_print_back(text: str, expected: ModelVersionRef) -> None:
    ref = ModelVersionRef.parse(text)
    assert ref == expected
    assert str(ref) == text.replace("@latest", "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apples:0", "not a version number"),
        ("apples:x", "not a version number"),
        ("app les", "not a model name"),
        ("apples@1x", "not an alias"),
        ("", "non-empty"),
    ],
)
def test_bad_references_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelVersionRef.parse(text)
