"""Walk lineage edges: from an artifact up to what produced it, or down to what used it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from pomona._utils.clock import from_ms
from pomona.errors import InvalidInputError, NotFoundError
from pomona.metadata.schema import pipeline_artifacts as arts
from pomona.metadata.schema import pipeline_runs as runs
from pomona.metadata.schema import pipeline_steps as steps
from pomona.pipelines._rows import loads
from pomona.pipelines.records import LineageEdge, LineageGraph, LineageNode
from pomona.types import Digest

__all__ = ["DIRECTIONS", "walk"]

DIRECTIONS = ("upstream", "downstream")
_CHUNK = 500


def _artifact(row: Any) -> LineageNode:
    short = row.type_name.rsplit(".", 1)[-1]
    return LineageNode(
        id=f"artifact:{row.digest}",
        kind="artifact",
        label=f"{short} {row.digest[7:19]}",
        attrs={
            "digest": row.digest,
            "materializer": row.materializer,
            "type_name": row.type_name,
            "size": int(row.size),
        },
    )


def _step(row: Any) -> LineageNode:
    started = from_ms(row.start_ms)
    return LineageNode(
        id=f"step:{row.run_id}/{row.name}",
        kind="step",
        label=f"{row.pipeline}.{row.name}",
        attrs={
            "run_id": row.run_id,
            "pipeline": row.pipeline,
            "name": row.name,
            "step": row.step,
            "code_hash": row.code_hash,
            "params": loads(row.params),
            "state": row.state,
            "started_at": started.isoformat() if started else None,
        },
    )


def _steps_touching(conn: Connection, digests: list[str], direction: str) -> list[Any]:
    found: list[Any] = []
    for i in range(0, len(digests), _CHUNK):
        found += conn.execute(
            select(
                arts.c.digest,
                arts.c.name.label("port"),
                steps.c.pk,
                steps.c.name,
                steps.c.step,
                steps.c.code_hash,
                steps.c.params,
                steps.c.state,
                steps.c.start_ms,
                runs.c.run_id,
                runs.c.pipeline,
            )
            .join(steps, steps.c.pk == arts.c.step_pk)
            .join(runs, runs.c.pk == steps.c.run_pk)
            .where(
                arts.c.direction == direction,
                arts.c.digest.in_(digests[i : i + _CHUNK]),
                steps.c.state == "succeeded",
                steps.c.cache_hit.is_(False),
            )
            .order_by(steps.c.pk)
        ).all()
    return found


def _links_of(conn: Connection, step_pks: list[int], direction: str) -> list[Any]:
    found: list[Any] = []
    for i in range(0, len(step_pks), _CHUNK):
        found += conn.execute(
            select(arts).where(
                arts.c.direction == direction, arts.c.step_pk.in_(step_pks[i : i + _CHUNK])
            )
        ).all()
    return found


def walk(conn: Connection, digest: str, direction: str, max_nodes: int) -> LineageGraph:
    """The lineage graph of ``digest`` (step runs that were cache hits are left out: the
    run that first made an artifact stands for it)."""
    if direction not in DIRECTIONS:
        raise InvalidInputError(
            f"Lineage direction '{direction}' is unknown; use upstream or downstream.",
            details={"field": "direction"},
        )
    root = conn.execute(select(arts).where(arts.c.digest == digest).limit(1)).first()
    if root is None:
        raise NotFoundError(
            f"No pipeline step consumed or produced artifact {digest}.",
            hint="Lineage covers artifacts that passed through pipelines.",
            details={"digest": digest},
        )
    nodes: dict[str, LineageNode] = {f"artifact:{digest}": _artifact(root)}
    edges: set[tuple[str, str, str]] = set()
    frontier = [digest]
    # upstream: artifact <- its producer <- inputs; downstream: artifact -> consumer -> outputs
    near, far = ("output", "input") if direction == "upstream" else ("input", "output")
    seen_steps: set[int] = set()
    while frontier and len(nodes) < max_nodes:
        touching = _steps_touching(conn, frontier, near)
        if direction == "upstream":  # the first producer of each artifact stands for it
            firsts: dict[str, Any] = {}
            for row in touching:
                firsts.setdefault(row.digest, row)
            touching = list(firsts.values())
        new_steps = []
        for row in touching:
            node = _step(row)
            nodes.setdefault(node.id, node)
            art = f"artifact:{row.digest}"
            pair = (node.id, art) if direction == "upstream" else (art, node.id)
            edges.add((*pair, row.port))
            if row.pk not in seen_steps:
                seen_steps.add(row.pk)
                new_steps.append(row)
        frontier = []
        step_ids = {r.pk: f"step:{r.run_id}/{r.name}" for r in new_steps}
        for link in _links_of(conn, list(step_ids), far):
            art_node = _artifact(link)
            if art_node.id not in nodes:
                nodes[art_node.id] = art_node
                frontier.append(link.digest)
            sid = step_ids[link.step_pk]
            pair = (art_node.id, sid) if direction == "upstream" else (sid, art_node.id)
            edges.add((*pair, link.name))
    return LineageGraph(
        root=Digest(digest),
        direction=direction,
        nodes=tuple(nodes.values()),
        edges=tuple(LineageEdge(s, t, label) for s, t, label in sorted(edges)),
    )
