"""Opaque page tokens."""

from __future__ import annotations

import base64
import json

from pomona.errors import InvalidInputError

__all__ = ["decode_page_token", "encode_page_token"]


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["o"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(offset)
        return offset
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(
            "The page token is not valid.",
            hint="Pass back the next_page_token of the previous page unchanged.",
            details={"field": "page_token"},
        ) from exc
