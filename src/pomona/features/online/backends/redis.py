"""The online store for scale: Redis, one string per (feature view, entity)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, ClassVar

from pomona.errors import BackendError, BackendUnavailableError
from pomona.features.online.base import OnlineKey, OnlineRecord, OnlineStore

if TYPE_CHECKING:
    import redis

__all__ = ["RedisOnlineStore"]

_BATCH = 1000
# Newer-wins in one server-side step per batch: values are b"<event_ms>|<payload>".
_WRITE_SCRIPT = """
local written = 0
for i, key in ipairs(KEYS) do
  local value = ARGV[i]
  local new_ms = tonumber(string.sub(value, 1, string.find(value, '|', 1, true) - 1))
  local current = redis.call('GET', key)
  local keep = false
  if current then
    local old_ms = tonumber(string.sub(current, 1, string.find(current, '|', 1, true) - 1))
    keep = old_ms > new_ms
  end
  if not keep then
    redis.call('SET', key, value)
    written = written + 1
  end
end
return written
"""


class RedisOnlineStore(OnlineStore):
    """Keys ``<prefix><view>:<entity_key>``; reads are one ``MGET``, writes one pipeline of
    scripted newer-wins batches. Nothing is written with an expiry: TTLs apply on read."""

    name: ClassVar[str] = "redis"

    def __init__(self, url: str, *, prefix: str = "pomona:features:") -> None:
        self.url = url
        self.prefix = prefix
        self._client: redis.Redis | None = None
        self._sha: str | None = None

    def _redis(self) -> redis.Redis:
        if self._client is None:
            import redis as redis_lib

            self._client = redis_lib.Redis.from_url(self.url)
        return self._client

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        import redis as redis_lib

        try:
            yield
        except (redis_lib.ConnectionError, redis_lib.TimeoutError) as exc:
            raise BackendUnavailableError(
                f"The Redis online store at {self._safe_url()} cannot be reached: {exc}.",
                hint="Check that redis-server runs and features.online_url points at it.",
            ) from exc
        except redis_lib.RedisError as exc:
            raise BackendError(f"The Redis online store failed to {what}: {exc}.") from exc

    def _safe_url(self) -> str:
        _head, at, tail = self.url.rpartition("@")
        return f"redis://***@{tail}" if at else self.url

    def _key(self, view: str, entity_key: str) -> bytes:
        return f"{self.prefix}{view}:{entity_key}".encode()

    def write(self, records: Sequence[OnlineRecord]) -> int:
        if not records:
            return 0
        client = self._redis()
        with self._translated("write"):
            if self._sha is None:
                self._sha = str(client.script_load(_WRITE_SCRIPT))
            pipe = client.pipeline(transaction=False)
            for start in range(0, len(records), _BATCH):
                chunk = records[start : start + _BATCH]
                keys = [self._key(r.view, r.entity_key) for r in chunk]
                values = [b"%d|" % r.event_ms + r.payload for r in chunk]
                pipe.evalsha(self._sha, len(keys), *keys, *values)
            results = pipe.execute()
        return sum(int(n) for n in results)

    def read(self, keys: Sequence[OnlineKey]) -> list[OnlineRecord | None]:
        if not keys:
            return []
        with self._translated("read"):
            values = self._redis().mget([self._key(view, entity) for view, entity in keys])
        out: list[OnlineRecord | None] = []
        for (view, entity), value in zip(keys, values, strict=True):
            if value is None:
                out.append(None)
                continue
            raw = value if isinstance(value, bytes) else str(value).encode()
            stamp, _, payload = raw.partition(b"|")
            out.append(OnlineRecord(view, entity, int(stamp), payload))
        return out

    def _scan(self, view: str) -> Iterator[bytes]:
        pattern = self._key(view, "").replace(b"[", b"\\[").replace(b"*", b"\\*") + b"*"
        yield from self._redis().scan_iter(match=pattern, count=1000)

    def delete_view(self, view: str) -> int:
        removed = 0
        with self._translated("delete"):
            batch: list[bytes] = []
            for key in self._scan(view):
                batch.append(key)
                if len(batch) >= _BATCH:
                    removed += int(self._redis().unlink(*batch))
                    batch = []
            if batch:
                removed += int(self._redis().unlink(*batch))
        return removed

    def count(self, view: str) -> int:
        with self._translated("count"):
            return sum(1 for _ in self._scan(view))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
