"""``python -m pomona.cli``: the same as the ``pomona`` command."""

from __future__ import annotations

from pomona.cli.main import main

main()
