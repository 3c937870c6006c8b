"""Classic benchmark instances as scheduling problems: job-shop (JSPLIB / Taillard format) and
flexible job-shop (Brandimarte ``.fjs`` format). Used by ``mom schedule bench``."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def _numbers(text: str) -> list[int]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return [int(x) for ln in lines for x in ln.split()]


def read_jsp(path: str | Path) -> dict[str, Any]:
    """A job-shop file: ``jobs machines`` then per job ``machine time`` pairs (machines from 0)."""
    nums = _numbers(Path(path).read_text())
    n, m = nums[0], nums[1]
    pos = 2
    orders = []
    for j in range(n):
        ops = []
        for k in range(m):
            mach, dur = nums[pos], nums[pos + 1]
            pos += 2
            ops.append({"id": str(k), "modes": [{"resource": f"M{mach}", "duration": dur}]})
        orders.append({"id": f"J{j}", "operations": ops})
    return {"format": "mom.schedule-problem/1", "name": Path(path).name,
            "resources": [{"id": f"M{i}"} for i in range(m)], "orders": orders, "objective": {"terms": ["makespan"]}}


def read_fjs(path: str | Path) -> dict[str, Any]:
    """A flexible job-shop file: ``jobs machines flex`` then per job ``ops (k (machine time)*k)*`` (machines from 1)."""
    lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip()]
    head = lines[0].split()
    n, m = int(head[0]), int(head[1])
    orders = []
    used: set[int] = set()
    for j in range(n):
        nums = [int(x) for x in lines[1 + j].split()]
        n_ops, pos = nums[0], 1
        ops = []
        for k in range(n_ops):
            alts, pos = nums[pos], pos + 1
            modes = []
            for _ in range(alts):
                mach, dur = nums[pos], nums[pos + 1]
                pos += 2
                used.add(mach)
                modes.append({"resource": f"M{mach}", "duration": dur})
            ops.append({"id": str(k), "modes": modes})
        orders.append({"id": f"J{j}", "operations": ops})
    return {"format": "mom.schedule-problem/1", "name": Path(path).stem,
            "resources": [{"id": f"M{i}"} for i in range(1, m + 1)], "orders": orders,
            "objective": {"terms": ["makespan"]}}


def read(path: str | Path) -> dict[str, Any]:
    return read_fjs(path) if str(path).endswith(".fjs") else read_jsp(path)
