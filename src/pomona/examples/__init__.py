"""Data generators for Pomona's running examples.

- :mod:`pomona.examples.apples`: procedural apple photos graded good / ok / bad,
  with drift knobs (new variety, darker and blurrier photos, class balance).
- :mod:`pomona.examples.fraud`: card transactions whose fraud pattern changes over time.

Nothing heavy is imported here; import the subpackage you need.
"""

from __future__ import annotations

__all__: list[str] = []
