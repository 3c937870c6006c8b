"""Low-level codes (低层码) and the BOM graph.

An item's low-level code is the deepest level at which it appears in any BOM (end items 0); planning in
ascending low-level code explodes every parent before any of its components (mom-domain.md §3.1).
A BOM that contains itself, directly or further down, is refused naming the loop.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from mom.platform.errors import InvalidInput


def low_level_codes(items: Iterable[int], edges: Mapping[int, Iterable[int]]) -> dict[int, int]:
    """``{item: low-level code}`` for ``items`` and every component in ``edges`` (parent → children)."""
    children = {p: sorted(set(cs)) for p, cs in edges.items()}
    indeg: dict[int, int] = {}
    for p in set(items) | set(children):
        indeg.setdefault(p, 0)
    for cs in children.values():
        for c in cs:
            indeg[c] = indeg.get(c, 0) + 1
    level = dict.fromkeys(indeg, 0)
    ready = sorted(i for i, d in indeg.items() if d == 0)
    done = 0
    while ready:            # Kahn's topological order: a child's level is settled once all parents are
        nxt: list[int] = []
        for p in ready:
            done += 1
            for c in children.get(p, ()):
                level[c] = max(level[c], level[p] + 1)
                indeg[c] -= 1
                if indeg[c] == 0:
                    nxt.append(c)
        ready = sorted(nxt)
    if done < len(indeg):
        raise cycle_error([i for i, d in indeg.items() if d > 0], children)
    return level


def below(roots: Iterable[int], edges: Mapping[int, Iterable[int]]) -> set[int]:
    """``roots`` and every item below them in the BOMs (what a change to a root can alter)."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        stack.extend(edges.get(i, ()))
    return seen


def cycle_error(stuck: list[int], children: Mapping[int, Iterable[int]], names: Mapping[int, str] | None = None
                ) -> InvalidInput:
    """The loop through ``stuck`` items in words."""
    names = names or {}
    left = set(stuck)
    start = min(left)
    path, seen = [start], {start}
    while True:
        nxt = next((c for c in sorted(children.get(path[-1], ())) if c in left), None)
        if nxt is None or nxt in seen:
            if nxt is not None:
                path.append(nxt)
            break
        path.append(nxt)
        seen.add(nxt)
    shown = " → ".join(names.get(i, f"#{i}") for i in path)
    return InvalidInput(f"物料清单有循环：{shown}。请修改其中一张物料清单，去掉这个循环",
                        f"the bills of materials loop: {shown}; change one of these BOMs to break the loop",
                        detail={"items": path})
