"""Open an artifact store from a URL: ``memory://``, ``file:///path`` or ``s3://bucket/prefix``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ValidationError

from pomona.artifacts.base import ArtifactStore
from pomona.errors import ConfigError
from pomona.plugins import load_class

__all__ = ["open_artifact_store"]

_BUILTINS = {
    "file": "pomona.artifacts.backends.file:FileArtifactStore",
    "memory": "pomona.artifacts.backends.memory:MemoryArtifactStore",
    "s3": "pomona.artifacts.backends.s3:S3ArtifactStore",
}
_EXTRAS = {"s3": "s3"}


def open_artifact_store(url: str, **options: object) -> ArtifactStore:
    """Build the artifact store a URL names; no I/O happens until first use.

    Args:
        url: ``memory://``, ``file:///abs/path``, a plain path, or ``s3://bucket/prefix``.
        **options: backend options, e.g. ``endpoint_url``, ``key``, ``secret``, ``region``
            for S3.
    Raises:
        ConfigError: the scheme is unsupported, the URL is malformed, or an option is
            unknown or invalid.
    """
    scheme, fields = _parse(url)
    clash = sorted(set(fields) & set(options))
    if clash:
        raise ConfigError(
            f"Option '{clash[0]}' is given both in the URL '{url}' and as an option.",
            hint="Give it in one place only.",
        )
    cls = load_class("artifacts", scheme, _BUILTINS, _EXTRAS)
    config_class: type[BaseModel] = cls.config_class
    try:
        config = config_class.model_validate({**fields, **options})
    except ValidationError as exc:
        raise ConfigError(
            f"Invalid options for the '{scheme}' artifact store: {_describe(exc)}.",
            hint=f"Valid options: {', '.join(sorted(config_class.model_fields)) or 'none'}.",
            details={"url": url},
        ) from exc
    store: ArtifactStore = cls(**dict(config))
    return store


def _parse(url: str) -> tuple[str, dict[str, Any]]:
    """Split a store URL into the backend name and the options it carries."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "":
        return "file", {"root": Path(url).expanduser().resolve()}
    if scheme == "memory":
        if parts.netloc or parts.path.strip("/"):
            raise ConfigError(f"'{url}' is not a memory store URL.", hint="Use 'memory://'.")
        return "memory", {}
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ConfigError(
                f"'{url}' is not a local file URL.",
                hint="Use 'file:///absolute/path' or a plain path.",
            )
        return "file", {"root": Path(unquote(parts.path))}
    if scheme == "s3":
        if not parts.netloc:
            raise ConfigError(f"'{url}' names no bucket.", hint="Use 's3://bucket/prefix'.")
        return "s3", {"bucket": parts.netloc, "prefix": unquote(parts.path).strip("/")}
    supported = ", ".join(f"{name}://" for name in sorted(_BUILTINS))
    raise ConfigError(
        f"Unsupported artifact store URL scheme '{scheme}' in '{url}'.",
        hint=f"Use one of: {supported}, or a plain directory path.",
        details={"scheme": scheme},
    )


def _describe(exc: ValidationError) -> str:
    """One line per problem: ``unknown option 'x'`` or ``'bucket': field required``."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"])
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown option '{field}'")
        else:
            problems.append(f"'{field}': {error['msg']}")
    return "; ".join(problems)
