"""The online store port: the latest feature values per (feature view, entity key)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import ClassVar, NamedTuple, Self

__all__ = ["OnlineKey", "OnlineRecord", "OnlineStore"]

OnlineKey = tuple[str, str]
"""``(feature view name, encoded entity key)``."""


class OnlineRecord(NamedTuple):
    """The latest values of one feature view for one entity (a named tuple: reads build
    thousands of them per call).

    Attributes:
        view: the feature view's name.
        entity_key: the entity's join key values, encoded (see ``pomona.features._codec``).
        event_ms: the event time of the values, epoch milliseconds.
        payload: the feature values, a JSON object as bytes.
    """

    view: str
    entity_key: str
    event_ms: int
    payload: bytes


class OnlineStore(ABC):
    """Key-value storage of ``OnlineRecord``; the store never decodes payloads.

    Writes are idempotent and newer-wins: a record whose ``event_ms`` is older than the
    stored one for its key is ignored, so a materialisation can be rerun at any time.
    """

    name: ClassVar[str]

    @abstractmethod
    def write(self, records: Sequence[OnlineRecord]) -> int:
        """Store records (one batch, one round trip).

        Returns:
            How many records were written (older ones than stored are skipped).
        Raises:
            BackendError: the store failed; a rerun of the same batch is safe.
        """

    @abstractmethod
    def read(self, keys: Sequence[OnlineKey]) -> list[OnlineRecord | None]:
        """The records of ``keys`` in one round trip, ``None`` where none is stored.

        Raises:
            BackendError: the store failed.
        """

    @abstractmethod
    def delete_view(self, view: str) -> int:
        """Remove every record of a view; returns how many were removed."""

    @abstractmethod
    def count(self, view: str) -> int:
        """How many entities of ``view`` are stored."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the store may not be used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
