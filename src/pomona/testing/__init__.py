"""Test helpers for Pomona and its plugins: conformance suites and real servers.

Import from the defining module, e.g. ``pomona.testing.artifacts`` (needs pytest) or
``pomona.testing._servers``; ``import pomona`` never imports this package.
"""

from __future__ import annotations

__all__: list[str] = []
