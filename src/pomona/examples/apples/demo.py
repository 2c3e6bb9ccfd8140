"""The apple farm's story (``pomona demo apples``): the scenario the demo machinery tells.

Day 0 the farm's photos (a few files broken) train the champion; day 1 the townsfolk's
photos look like the farm's; day 2 they are darker, blurrier and show a new variety, and
the farm grades a batch of such photos into its folder for the retraining.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np

from pomona.examples._demo import DemoPlan, demo_rules
from pomona.examples.apples._conditions import day0_conditions, townsfolk_day1, townsfolk_day2
from pomona.examples.apples._files import write_apple_folder
from pomona.examples.apples._generator import generate_apples
from pomona.examples.apples.pipelines import train_apples

__all__ = ["AppleFarm", "png_bytes"]


class AppleFarm:
    """Photos graded good / ok / bad, a forest on image features, a grading app."""

    name = "apple-farm"
    dataset = "apples"
    model = "apples"
    deployment = "apples-prod"
    train_pipeline = train_apples
    retrain_target = "pomona.examples.apples.pipelines:retrain_apples"
    target_accuracy = 0.6

    def plan(self, quick: bool) -> DemoPlan:
        if quick:
            return DemoPlan(
                rows=500,
                day_requests=160,
                labelled=300,
                window_s=12,
                n_trials=2,
                folds=2,
                min_accuracy=0.75,
            )
        return DemoPlan(
            rows=1000,
            day_requests=300,
            labelled=400,
            window_s=15,
            n_trials=4,
            folds=3,
            min_accuracy=0.75,
        )

    def write_day0(self, folder: Path, plan: DemoPlan) -> tuple[Path, str]:
        photos = folder / "photos"
        written = write_apple_folder(
            photos,
            plan.rows,
            seed=plan.seed,
            conditions=day0_conditions(),
            defective_fraction=0.03,
        )
        return photos, (
            f"The farm photographs {plan.rows:,} apples into {photos} "
            f"({len(written.defective)} files broken on purpose)"
        )

    def add_labelled(self, source: Path, plan: DemoPlan) -> str:
        images, metas = generate_apples(
            plan.labelled, seed=plan.seed + 7, conditions=townsfolk_day2()
        )
        for i, (image, meta) in enumerate(zip(images, metas, strict=True)):
            folder = source / meta.grade
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".day2_{i:05d}.png.tmp"
            tmp.write_bytes(png_bytes(image))
            tmp.replace(folder / f"day2_{i:05d}.png")
        return f"The farm grades {plan.labelled} photos of the new, darker kind into its folder"

    def requests(
        self, day: int, n: int, *, seed: int, start: int = 0
    ) -> tuple[list[dict[str, Any]], list[str]]:
        conditions = townsfolk_day1() if day == 1 else townsfolk_day2()
        images, metas = generate_apples(n, seed=seed, conditions=conditions, start=start)
        bodies = [{"images": [base64.b64encode(png_bytes(im)).decode("ascii")]} for im in images]
        return bodies, [m.grade for m in metas]

    def rules(self, plan: DemoPlan) -> list[Any]:
        return demo_rules(plan, min_confidence=0.64)

    def describe(self, day: int) -> str:
        if day == 1:
            return "the townsfolk's photos, like the farm's"
        return "darker, blurrier phone photos, a new variety among them"


def png_bytes(image: Any) -> bytes:
    """One photo as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()
