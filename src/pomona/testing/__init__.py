"""Test helpers for Pomona and its plugins: conformance suites and real servers.

Import from the defining module, e.g. ``pomona.testing.artifacts`` or
``pomona.testing._servers``; nothing here is imported by ``import pomona``.
"""
