"""Draws a contact sheet of generated apple photos (docs/images/apples_contact_sheet.png).

Rows of good, then ok, then bad apples, each captioned with its grade, so a reader
can check that a person can grade them. ``--day2`` draws the townsfolk's drifted photos.

    python scripts/make_contact_sheet.py
    python scripts/make_contact_sheet.py --day2 --out /tmp/day2.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import ImageOps

from pomona.examples import apples

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "apples_contact_sheet.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--per-grade", type=int, default=16, help="photos of each grade")
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--day2", action="store_true", help="townsfolk_day2() conditions")
    args = parser.parse_args()

    conditions = apples.townsfolk_day2() if args.day2 else apples.day0_conditions()
    images, metas = apples.generate_apples(
        20 * args.per_grade, seed=args.seed, conditions=conditions
    )
    picked = [
        i
        for grade in apples.GRADES
        for i in [j for j, m in enumerate(metas) if m.grade == grade][: args.per_grade]
    ]
    # Day-2 captions also name the variety (abbreviated) to show the new one.
    labels = [
        f"{metas[i].grade} {metas[i].variety[:4]}" if args.day2 else metas[i].grade for i in picked
    ]
    sheet = apples.contact_sheet(
        np.stack([images[i] for i in picked]), labels, cols=args.cols, scale=2
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # 5 bits per channel keep the sheet small (about 250 KB; the limit is 500 KB) and,
    # unlike a 256-colour palette, leave no blotches that could pass for defects.
    ImageOps.posterize(sheet, 5).save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB, {len(picked)} photos)")


if __name__ == "__main__":
    main()
