"""Lay a small directed graph out in layers, for an SVG drawn server-side (no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Box", "GraphLayout", "Link", "layout"]

BOX_W = 180
BOX_H = 50
GAP_X = 70
GAP_Y = 22
PAD = 12


@dataclass(frozen=True)
class Box:
    """A node placed on the canvas."""

    id: str
    title: str
    subtitle: str
    css: str
    href: str | None
    x: int
    y: int
    w: int = BOX_W
    h: int = BOX_H


@dataclass(frozen=True)
class Link:
    """An edge as an SVG path from one box's right side to another's left side."""

    path: str
    label: str


@dataclass(frozen=True)
class GraphLayout:
    width: int
    height: int
    boxes: list[Box]
    links: list[Link]


def layout(
    nodes: Sequence[tuple[str, str, str, str, str | None]],
    edges: Sequence[tuple[str, str, str]],
) -> GraphLayout:
    """Place ``nodes`` (id, title, subtitle, css class, link) in columns by longest path
    from a source, and route ``edges`` (source, target, label) as curves."""
    ids = [n[0] for n in nodes]
    ups: dict[str, list[str]] = {i: [] for i in ids}
    for src, dst, _ in edges:
        if src in ups and dst in ups:
            ups[dst].append(src)
    depth: dict[str, int] = {}

    def level(node: str, seen: frozenset[str] = frozenset()) -> int:
        if node not in depth:
            parents = [p for p in ups[node] if p not in seen]
            depth[node] = 1 + max((level(p, seen | {node}) for p in parents), default=-1)
        return depth[node]

    columns: dict[int, list[str]] = {}
    for node_id in ids:
        columns.setdefault(level(node_id), []).append(node_id)
    place: dict[str, tuple[int, int]] = {}
    for col, members in columns.items():
        for row, node_id in enumerate(members):
            place[node_id] = (PAD + col * (BOX_W + GAP_X), PAD + row * (BOX_H + GAP_Y))
    boxes = [Box(n[0], n[1], n[2], n[3], n[4], *place[n[0]]) for n in nodes]
    links = []
    for src, dst, label in edges:
        if src not in place or dst not in place:
            continue
        (x1, y1), (x2, y2) = place[src], place[dst]
        sx, sy, tx, ty = x1 + BOX_W, y1 + BOX_H // 2, x2, y2 + BOX_H // 2
        bend = max(30, (tx - sx) // 2)
        links.append(Link(f"M{sx},{sy} C{sx + bend},{sy} {tx - bend},{ty} {tx},{ty}", label))
    width = PAD * 2 + max((x for x, _ in place.values()), default=0) + BOX_W
    height = PAD * 2 + max((y for _, y in place.values()), default=0) + BOX_H
    return GraphLayout(width, height, boxes, links)
