"""Split assignment: reproducible, stratified, and duplicates never cross subsets."""

from __future__ import annotations

from collections import Counter

import pytest

from pomona.datasets import SplitParams
from pomona.datasets._splits import assign_splits, check_split_params, group_records, split_key
from pomona.errors import InvalidInputError


def _digests(n: int) -> list[str]:
    return [f"sha256:{i:064x}" for i in range(n)]


def test_the_same_content_and_seed_give_the_same_split_in_any_order() -> None:
    digests = _digests(500)
    strata = ["good" if i % 3 else "bad" for i in range(500)]
    params = SplitParams(test=0.2, val=0.1, seed=7)
    first = dict(zip(digests, assign_splits(digests, strata, params), strict=True))
    order = list(reversed(range(500)))
    shuffled = assign_splits([digests[i] for i in order], [strata[i] for i in order], params)
    assert dict(zip([digests[i] for i in order], shuffled, strict=True)) == first
    other = assign_splits(digests, strata, SplitParams(test=0.2, val=0.1, seed=8))
    assert other != [first[d] for d in digests]


def test_each_label_keeps_its_share_in_every_subset() -> None:
    digests = _digests(1000)
    strata = ["good"] * 700 + ["ok"] * 200 + ["bad"] * 100
    subsets = assign_splits(digests, strata, SplitParams(test=0.2, val=0.1))
    counts = Counter(zip(subsets, strata, strict=True))
    assert (counts["test", "good"], counts["test", "ok"], counts["test", "bad"]) == (140, 40, 20)
    assert (counts["val", "good"], counts["val", "ok"], counts["val", "bad"]) == (70, 20, 10)
    assert counts["train", "bad"] == 70


def test_copies_of_one_content_land_in_one_subset() -> None:
    digests = [f"sha256:{i % 50:064x}" for i in range(400)]  # every content 8 times
    subsets = assign_splits(digests, [None] * 400, SplitParams(test=0.3, val=0.2, stratify=None))
    by_content: dict[str, set[str]] = {}
    for digest, subset in zip(digests, subsets, strict=True):
        by_content.setdefault(digest, set()).add(subset)
    assert all(len(s) == 1 for s in by_content.values())
    assert set(subsets) == {"train", "val", "test"}


def test_near_duplicate_hashes_are_grouped_but_distant_ones_are_not() -> None:
    base = int("f0" * 32, 16)
    near = base ^ 0b1011  # 3 bits apart
    far = base ^ int("ff" * 8, 16)  # 64 bits apart
    hashes = [f"{base:064x}", f"{near:064x}", f"{far:064x}", None]
    groups = group_records(_digests(4), hashes, max_distance=4)
    assert groups[0] == groups[1]
    assert len({groups[0], groups[2], groups[3]}) == 3
    assert len(set(group_records(_digests(4), hashes, max_distance=-1))) == 4


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (SplitParams(test=1.0, val=0.0), "test"),
        (SplitParams(test=0.6, val=0.5), "test"),
        (SplitParams(test=-0.1), "test"),
        (SplitParams(near_duplicates=99), "near_duplicates"),
    ],
    ids=["all-test", "nothing-left", "negative", "too-far"],
)
def test_bad_split_parameters_name_the_field(params: SplitParams, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_split_params(params)
    assert info.value.details["field"] == field


def test_split_keys_depend_on_every_parameter() -> None:
    keys = {
        split_key(p)
        for p in (
            SplitParams(),
            SplitParams(seed=1),
            SplitParams(test=0.3),
            SplitParams(stratify=None),
            SplitParams(near_duplicates=-1),
        )
    }
    assert len(keys) == 5


def test_a_chain_of_similar_images_cannot_swallow_the_split() -> None:
    start = int("ab" * 32, 16)
    hashes = [f"{start ^ ((1 << (2 * i)) - 1):064x}" for i in range(100)]  # 2 bits per step
    groups = group_records(_digests(100), hashes, max_distance=4)
    sizes = Counter(groups)
    assert max(sizes.values()) <= 10
    assert groups[0] == groups[1]  # the closest pairs are still joined
