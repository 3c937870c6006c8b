"""One plotted chart and the data clean-up every chart shares: missing readings skipped with a note,
points excluded from the limits with a recorded reason."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mom.engines.reports.spc.errors import SpcError

MAX_POINTS = 1_000_000


@dataclass
class Chart:
    """One control chart: the plotted points and their limits. ``ucl``/``lcl``/``center`` are numbers when
    they are the same for every point, otherwise None and the per-point lists carry them."""

    name: str
    points: list[float]
    center: float | None
    ucl: float | None
    lcl: float | None
    violations: list[dict[str, Any]] = field(default_factory=list)
    center_points: list[float] | None = None
    ucl_points: list[float] | None = None
    lcl_points: list[float] | None = None

    @classmethod
    def of(cls, name: str, points: list[float], center: Sequence[float], ucl: Sequence[float],
           lcl: Sequence[float]) -> Chart:
        def same(xs: Sequence[float]) -> bool:
            return all(abs(x - xs[0]) <= 1e-12 * max(1.0, abs(xs[0])) for x in xs)
        if same(center) and same(ucl) and same(lcl):
            return cls(name, points, center[0], ucl[0], lcl[0])
        return cls(name, points, center[0] if same(center) else None, None, None,
                   center_points=list(center), ucl_points=list(ucl), lcl_points=list(lcl))

    def limits(self) -> tuple[Any, Any]:
        return (self.ucl if self.ucl is not None else self.ucl_points,
                self.lcl if self.lcl is not None else self.lcl_points)

    def as_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "points": self.points, "center": self.center, "ucl": self.ucl, "lcl": self.lcl,
               "violations": self.violations}
        if self.ucl_points is not None:
            out.update(center_points=self.center_points, ucl_points=self.ucl_points, lcl_points=self.lcl_points)
        return out


def number(v: Any) -> float | None:
    """A reading, or None when it is missing (None, empty text, NaN)."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, bool):
        raise SpcError(f"读数必须是数字（收到 {v}）", f"readings must be numbers (got {v})")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise SpcError(f"读数必须是数字（收到 {str(v)[:40]}）", f"readings must be numbers (got {str(v)[:40]})") from None
    if math.isnan(x):
        return None
    if math.isinf(x):
        raise SpcError("读数不能是无穷大", "readings cannot be infinite")
    return x


def present(values: Iterable[Any]) -> tuple[list[float], list[int], dict[int, int]]:
    """The readings that are there (:func:`number`), their positions, and the missing ones' positions."""
    xs: list[float] = []
    index: list[int] = []
    missing: dict[int, int] = {}
    for i, v in enumerate(values):
        x = number(v)
        if x is None:
            missing[i] = 1
        else:
            xs.append(x)
            index.append(i)
    return xs, index, missing


def missing_note(missing: Mapping[int, int], dropped: Sequence[int], *, labels: Sequence[Any] | None = None,
                 what: str = "subgroup") -> dict[str, Any] | None:
    """The note a chart carries when readings were missing: how many, in which subgroups (1-based, or the
    caller's labels), and which subgroups had too few readings left to plot."""
    if not missing and not dropped:
        return None
    name = (lambda i: labels[i]) if labels is not None else (lambda i: i + 1)
    total = sum(missing.values())
    where = [name(i) for i in sorted(missing)]
    gone = [name(i) for i in dropped]
    zh = f"跳过 {total} 个缺失读数（子组 {'、'.join(map(str, where[:20]))}{' 等' if len(where) > 20 else ''}）"
    en = f"skipped {total} missing reading(s) (in {what}s {', '.join(map(str, where[:20]))}{' …' if len(where) > 20 else ''})"
    if gone:
        zh += f"；子组 {'、'.join(map(str, gone[:20]))} 剩余读数不足，未画出"
        en += f"; {what}s {', '.join(map(str, gone[:20]))} had too few readings left and are not plotted"
    return {"kind": "missing", "zh-CN": zh, "en": en, "missing_readings": total, "subgroups": where, "dropped": gone}


def clean_groups(groups: Iterable[Sequence[Any]], min_size: int) -> tuple[list[list[float]], list[int], dict[str, Any] | None]:
    """Subgroups without their missing readings; those left with fewer than ``min_size`` are dropped.
    Returns (subgroups, their original 0-based indexes, the note or None)."""
    kept: list[list[float]] = []
    index: list[int] = []
    missing: dict[int, int] = {}
    dropped: list[int] = []
    for i, g in enumerate(groups):
        if i >= MAX_POINTS:
            raise SpcError(f"子组过多（上限 {MAX_POINTS:,}）", f"too many subgroups (limit {MAX_POINTS:,})")
        if not isinstance(g, (list, tuple)):
            raise SpcError(f"第 {i + 1} 个子组应为数字列表", f"subgroup {i + 1} must be a list of numbers")
        xs = [number(v) for v in g]
        vals = [x for x in xs if x is not None]
        if len(vals) < len(xs):
            missing[i] = len(xs) - len(vals)
        if len(vals) < min_size:
            dropped.append(i)
            continue
        kept.append(vals)
        index.append(i)
    if len(kept) < 2:
        raise SpcError("至少需要 2 个有数据的子组", "at least 2 subgroups with readings are needed")
    return kept, index, missing_note(missing, dropped)


def exclusions(exclude: Mapping[Any, Any] | None, index: Sequence[int]) -> tuple[set[int], list[dict[str, Any]]]:
    """``exclude`` maps an original subgroup index (0-based) to the reason it is left out of the limits.
    Returns positions among the plotted points and the record the answer shows."""
    if not exclude:
        return set(), []
    if not isinstance(exclude, Mapping) or len(exclude) > MAX_POINTS:
        raise SpcError("exclude 应为 {子组序号: 原因}", "exclude must map a subgroup index to a reason")
    pos = {orig: p for p, orig in enumerate(index)}
    out, record = set(), []
    for key, reason in exclude.items():
        try:
            i = int(key)
        except (TypeError, ValueError):
            raise SpcError(f"排除的子组序号 {key} 不是整数", f"excluded subgroup {key} is not an integer") from None
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
            raise SpcError(f"排除子组 {i + 1} 须写明原因（500 字以内）", f"excluding subgroup {i + 1} needs a reason (≤ 500 characters)")
        if i not in pos:
            raise SpcError(f"没有可排除的子组 {i + 1}", f"there is no plotted subgroup {i + 1} to exclude")
        out.add(pos[i])
        record.append({"index": i, "reason": reason.strip()})
    if len(out) > len(index) - 2:
        raise SpcError("排除后至少要留 2 个子组计算控制限", "at least 2 subgroups must remain after exclusions")
    return out, sorted(record, key=lambda r: r["index"])


def standard_values(standard: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """Phase II: a fixed mean and sigma (from a baseline period or a standard) instead of estimates."""
    if standard is None:
        return None
    try:
        mu, sigma = float(standard["mean"]), float(standard["sigma"])
    except (KeyError, TypeError, ValueError):
        raise SpcError("固定控制限需要 mean（均值）和 sigma（标准差）两个数字",
                       "fixed limits need two numbers: mean and sigma") from None
    if not sigma > 0 or math.isinf(sigma) or math.isinf(mu) or math.isnan(mu):
        raise SpcError("固定控制限的 sigma 必须大于 0", "the fixed sigma must be greater than 0")
    return mu, sigma
