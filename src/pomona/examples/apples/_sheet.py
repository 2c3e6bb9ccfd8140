"""A contact sheet: photos in a grid with a caption under each, for docs and eyeballing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from pomona.errors import InvalidInputError

__all__ = ["contact_sheet"]


def contact_sheet(
    images: NDArray[np.uint8] | Sequence[NDArray[np.uint8]],
    labels: Sequence[str],
    *,
    cols: int = 8,
    scale: int = 2,
) -> Image.Image:
    """Photos in a grid, each enlarged ``scale`` times, with its label underneath.

    Args:
        images: N x H x W x 3 uint8 photos of one size.
        labels: one caption per photo (e.g. the grade).
        cols: photos per row.
        scale: integer enlargement (nearest neighbour, so pixels stay honest).
    """
    if len(images) != len(labels):
        raise InvalidInputError(
            f"contact_sheet got {len(images)} images but {len(labels)} labels.",
            hint="Pass one label per image.",
        )
    if len(images) == 0 or cols < 1 or scale < 1:
        raise InvalidInputError("contact_sheet needs at least one image, cols >= 1, scale >= 1.")
    h, w = images[0].shape[:2]
    th, tw = h * scale, w * scale
    font = ImageFont.load_default(size=max(10, min(18, tw // 7)))
    caption = int(font.size) + 6 if isinstance(font, ImageFont.FreeTypeFont) else 16
    pad = 4
    rows = (len(images) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * (tw + pad) + pad, rows * (th + caption + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        x = pad + (i % cols) * (tw + pad)
        y = pad + (i // cols) * (th + caption + pad)
        tile = Image.fromarray(np.asarray(image, dtype=np.uint8)).resize(
            (tw, th), Image.Resampling.NEAREST
        )
        sheet.paste(tile, (x, y))
        draw.text((x + tw // 2, y + th + 2), label, fill="black", font=font, anchor="ma")
    return sheet
