"""Writing photos to a folder the way a farmer would: PNGs by grade, a labels.csv, some junk."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from pomona.errors import AlreadyExistsError, InvalidInputError
from pomona.examples.apples._conditions import PhotoConditions
from pomona.examples.apples._generator import ApplePhotoMeta, generate_apples

__all__ = ["DEFECTIVE_FILE_KINDS", "AppleFolderSummary", "DefectiveFile", "write_apple_folder"]

DEFECTIVE_FILE_KINDS: tuple[str, ...] = (
    "truncated_png",  # a PNG cut in half: the header reads, the pixels do not
    "truncated_jpeg",  # a JPEG (.jpg) cut in half
    "not_an_image",  # text bytes under a .png name
    "tiny_image",  # a valid 8 x 8 PNG: too small to grade
    "wrong_format",  # a valid BMP (.bmp): a format the pipeline may not accept
)
"""The kinds of broken files ``write_apple_folder`` plants, in the order it cycles them."""

_CHUNK = 256
_DEFECT_STREAM = 2**31 - 1  # spawn key of the random stream that picks defective files


@dataclass(frozen=True)
class DefectiveFile:
    """A file written broken on purpose."""

    path: str
    """Relative to the folder, with forward slashes."""
    kind: str
    """One of ``DEFECTIVE_FILE_KINDS``."""
    grade: str
    """The grade of the photo it should have been."""


@dataclass(frozen=True)
class AppleFolderSummary:
    """What ``write_apple_folder`` wrote."""

    root: Path
    files: tuple[str, ...]
    """Every file written (relative, forward slashes), in index order."""
    grades: tuple[str, ...]
    """The grade of each file, aligned with ``files``."""
    defective: tuple[DefectiveFile, ...]
    labels_csv: Path
    """``root / "labels.csv"``: columns file, grade, variety."""

    @property
    def counts(self) -> Mapping[str, int]:
        """Number of files per grade."""
        return dict(Counter(self.grades))


def _png(image: NDArray[np.uint8]) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _broken(kind: str, image: NDArray[np.uint8]) -> tuple[str, bytes]:
    """The extension and bytes of a broken file of ``kind``."""
    buf = io.BytesIO()
    if kind == "truncated_png":
        data = _png(image)
        return ".png", data[: len(data) // 2]
    if kind == "truncated_jpeg":
        Image.fromarray(image).save(buf, format="JPEG", quality=90)
        data = buf.getvalue()
        return ".jpg", data[: len(data) // 2]
    if kind == "not_an_image":
        return ".png", b"apple photo 17, see attachment\nsent from my phone\n"
    if kind == "tiny_image":
        return ".png", _png(
            np.asarray(Image.fromarray(image).resize((8, 8), Image.Resampling.BILINEAR))
        )
    Image.fromarray(image).save(buf, format="BMP")
    return ".bmp", buf.getvalue()


def _pick_defective(n: int, fraction: float, seed: int) -> dict[int, str]:
    """Which indices are written broken (exactly ``round(fraction * n)``), and how."""
    count = round(fraction * n)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_DEFECT_STREAM,)))
    chosen = sorted(rng.choice(n, size=count, replace=False).tolist()) if count else []
    kinds = DEFECTIVE_FILE_KINDS
    return {int(i): kinds[k % len(kinds)] for k, i in enumerate(chosen)}


def _check(dest: Path, n: int, defective_fraction: float, layout: str) -> None:
    if n < 0:
        raise InvalidInputError(f"n must be >= 0, got {n}.", details={"field": "n"})
    if not 0.0 <= defective_fraction <= 1.0:
        raise InvalidInputError(
            f"defective_fraction must be in [0, 1], got {defective_fraction}.",
            details={"field": "defective_fraction"},
        )
    if layout not in ("subfolders", "flat"):
        raise InvalidInputError(
            f"layout must be 'subfolders' or 'flat', got {layout!r}.", details={"field": "layout"}
        )
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise AlreadyExistsError(
            f"'{dest}' already exists and is not an empty folder.",
            hint="Write the photos into a new or empty folder.",
            details={"path": str(dest)},
        )


def write_apple_folder(
    dest: str | Path,
    n: int,
    *,
    seed: int,
    size: int = 64,
    conditions: PhotoConditions | None = None,
    defective_fraction: float = 0.0,
    layout: Literal["subfolders", "flat"] = "subfolders",
) -> AppleFolderSummary:
    """Writes ``n`` apple photos as files, plus ``labels.csv`` (file, grade, variety).

    With ``layout="subfolders"`` photo ``i`` goes to ``dest/<grade>/apple_<i+1>.png``
    (labels by folder name); with ``"flat"`` to ``dest/apple_<i+1>.png``. A fraction
    ``defective_fraction`` of the files is written broken (see ``DEFECTIVE_FILE_KINDS``);
    they are listed in labels.csv like the others and in the summary's ``defective``.
    The photos are those of ``generate_apples(n, seed=seed, size=size, conditions=...)``.

    Raises:
        AlreadyExistsError: ``dest`` exists and is not an empty folder.
        InvalidInputError: a bad ``n``, ``defective_fraction`` or ``layout``.
    """
    root = Path(dest)
    _check(root, n, defective_fraction, layout)
    broken = _pick_defective(n, defective_fraction, seed)
    width = max(5, len(str(n)))
    files: list[str] = []
    metas: list[ApplePhotoMeta] = []
    defective: list[DefectiveFile] = []
    root.mkdir(parents=True, exist_ok=True)
    for start in range(0, n, _CHUNK):
        images, chunk = generate_apples(
            min(_CHUNK, n - start), seed=seed, size=size, conditions=conditions, start=start
        )
        for offset, (image, meta) in enumerate(zip(images, chunk, strict=True)):
            index = start + offset
            folder = f"{meta.grade}/" if layout == "subfolders" else ""
            kind = broken.get(index)
            ext, data = (".png", _png(image)) if kind is None else _broken(kind, image)
            name = f"{folder}apple_{index + 1:0{width}d}{ext}"
            path = root / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            files.append(name)
            metas.append(meta)
            if kind is not None:
                defective.append(DefectiveFile(path=name, kind=kind, grade=meta.grade))
    labels = root / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "grade", "variety"])
        writer.writerows([f, m.grade, m.variety] for f, m in zip(files, metas, strict=True))
    return AppleFolderSummary(
        root=root,
        files=tuple(files),
        grades=tuple(m.grade for m in metas),
        defective=tuple(defective),
        labels_csv=labels,
    )
