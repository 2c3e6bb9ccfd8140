"""Artifact store backends: ``memory``, ``file`` and ``s3``.

Import a backend from its own module; ``s3`` needs the ``pomona[s3]`` extra.
"""
