"""The command line, ``pomona <noun> <verb>``; the entry point is ``pomona.cli.main:main``.

Nothing is imported here, so ``python -m pomona.cli.main`` runs without a warning.
"""

from __future__ import annotations

__all__: list[str] = []
