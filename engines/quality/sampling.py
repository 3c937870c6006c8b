"""Acceptance sampling by attributes per GB/T 2828.1-2012 (ISO 2859-1:1999), single sampling.

``plan(lot_size, aql, level, severity)`` finds the code letter (Table 1), reads Table 2-A/2-B/2-C,
follows the arrows to the plan they point at (that row's letter and sample size) and switches to
100 % inspection when the sample would be the whole lot. ``lot_result`` judges a lot;
``accepted_at_tighter_aql`` answers the switching score's question (ISO 2859-1:1999 9.3.3.2).
Pure: the tables are data in ``tables.py``; nothing here reads a database.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from mom.engines.quality import tables
from mom.platform.errors import InvalidInput, Problem

SEVERITY_ZH = {"normal": "正常检验", "tightened": "加严检验", "reduced": "放宽检验"}
TABLE_NAME = {"normal": "2-A", "tightened": "2-B", "reduced": "2-C"}
MAX_LOT_SIZE = 10 ** 12          # bounded input; Table 1's last row is "500 001 and over"


class SamplingError(InvalidInput):
    """A sampling input outside the standard (AQL not in the preferred series, lot size, level…).
    ``detail["field"]`` names the input; the one problem is located at ``/<field>``."""

    def __init__(self, zh: str, en: str, *, detail: dict[str, Any] | None = None) -> None:
        field = (detail or {}).get("field", "")
        super().__init__(zh, en, problems=[Problem(f"/{field}", zh, en)] if field else None, detail=detail)


@dataclass(frozen=True)
class Plan:
    """One single-sampling plan as the inspector uses it.

    ``code_letter``/``sample_size`` are those of the row the arrows led to; ``resolved_from`` is the
    arrow path ("G→H→J") or None; ``hundred_percent`` means inspect every unit (sample = lot) while
    keeping the table's Ac/Re."""

    lot_size: int
    aql: str
    level: str
    severity: str
    table: str
    initial_letter: str
    code_letter: str
    sample_size: int
    ac: int
    re: int
    hundred_percent: bool
    resolved_from: str | None
    note_zh: str
    note_en: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalise_aql(aql: Decimal | str | int | float) -> str:
    """The AQL as its column heading in Tables 2-A/B/C ("1.0", "0.010", "10"), or SamplingError."""
    try:
        value = Decimal(str(aql).strip())
    except (InvalidOperation, ValueError):
        value = None
    if value is not None and value.is_finite():
        for heading in tables.AQLS:
            if Decimal(heading) == value:
                return heading
    raise SamplingError(
        f"接收质量限 AQL「{aql}」不在 GB/T 2828.1 的优先系列中；可选：{'、'.join(tables.AQLS)}",
        f"AQL '{aql}' is not in the GB/T 2828.1 preferred series; choose one of {', '.join(tables.AQLS)}",
        detail={"field": "aql", "value": str(aql), "allowed": list(tables.AQLS)})


def _check_level(level: str) -> str:
    if level not in tables.LEVELS:
        raise SamplingError(
            f"检验水平「{level}」不存在；可选：{'、'.join(tables.LEVELS)}",
            f"Unknown inspection level '{level}'; choose one of {', '.join(tables.LEVELS)}",
            detail={"field": "level", "value": str(level), "allowed": list(tables.LEVELS)})
    return level


def _check_severity(severity: str) -> str:
    if severity not in tables.SEVERITIES:
        raise SamplingError(
            f"检验严格度「{severity}」不存在；可选：normal（正常）、tightened（加严）、reduced（放宽）",
            f"Unknown severity '{severity}'; choose normal, tightened or reduced",
            detail={"field": "severity", "value": str(severity), "allowed": list(tables.SEVERITIES)})
    return severity


def _check_lot(lot_size: Any) -> int:
    if isinstance(lot_size, bool) or not isinstance(lot_size, int) or not 2 <= lot_size <= MAX_LOT_SIZE:
        raise SamplingError(
            f"批量「{lot_size}」不对：应为 2 到 {MAX_LOT_SIZE} 之间的整数（GB/T 2828.1 表 1 从 2 开始）",
            f"Lot size '{lot_size}' is wrong: give a whole number from 2 to {MAX_LOT_SIZE} "
            "(GB/T 2828.1 Table 1 starts at 2)",
            detail={"field": "lot_size", "value": str(lot_size), "min": 2, "max": MAX_LOT_SIZE})
    return lot_size


def code_letter(lot_size: int, level: str = "II") -> str:
    """Table 1: the sample size code letter for a lot size and inspection level."""
    lot_size, column = _check_lot(lot_size), tables.LEVELS.index(_check_level(level))
    for low, high, letters in tables.CODE_LETTERS:
        if lot_size >= low and (high is None or lot_size <= high):
            return letters[column]
    raise AssertionError("Table 1 covers every lot size >= 2")


@lru_cache(maxsize=None)
def _cell(severity: str, letter: str, aql: str) -> tuple[str, int, int, str | None]:
    """(letter, n, Ac, arrow path) for a table cell, arrows followed. An arrow that leaves the
    table, or runs into a blank cell, is followed the other way: A@10 ↑ → C on 2-A (D on 2-B),
    R@0.015 on 2-A → P (aqlinspectorsrule.com notes note 1 and /below; mom-domain §1.3)."""
    table, column = tables.TABLES[severity], tables.AQLS.index(aql)
    rows = list(table)
    token = table[letter].split()[column]
    if token not in ("↑", "↓"):
        return letter, tables.SAMPLE_SIZES[severity][letter], int(token), None

    def walk(step: int) -> list[str] | None:
        i, path = rows.index(letter), [letter]
        while True:
            i += step
            if not 0 <= i < len(rows):
                return None
            cell = table[rows[i]].split()[column]
            if cell == "-":
                return None
            path.append(rows[i])
            if cell not in ("↑", "↓"):
                return path

    step = 1 if token == "↓" else -1
    path = walk(step) or walk(-step)
    assert path is not None, (severity, letter, aql)
    end = path[-1]
    return end, tables.SAMPLE_SIZES[severity][end], int(table[end].split()[column]), "→".join(path)


def table_plan(severity: str, letter: str, aql: Decimal | str) -> tuple[str, int, int, int]:
    """(letter, n, Ac, Re) of Table 2-A/2-B/2-C for an initial code letter, arrows followed."""
    _check_severity(severity)
    if letter not in tables.LETTERS:
        raise SamplingError(f"样本量字码「{letter}」不存在；可选：{'、'.join(tables.LETTERS)}",
                            f"Unknown code letter '{letter}'; choose one of {', '.join(tables.LETTERS)}",
                            detail={"field": "code_letter", "value": str(letter)})
    end, n, ac, _ = _cell(severity, letter, normalise_aql(aql))
    return end, n, ac, ac + 1


def plan(lot_size: int, aql: Decimal | str, level: str = "II", severity: str = "normal") -> Plan:
    """The single-sampling plan for a lot (see the module docstring)."""
    lot_size, heading = _check_lot(lot_size), normalise_aql(aql)
    _check_level(level)
    _check_severity(severity)
    initial = code_letter(lot_size, level)
    letter, n, ac, path = _cell(severity, initial, heading)
    hundred = n >= lot_size
    sample = lot_size if hundred else n
    zh = (f"批量 {lot_size}，检验水平 {level}，{SEVERITY_ZH[severity]}（表 {TABLE_NAME[severity]}），"
          f"AQL {heading}：字码 {initial}")
    en = (f"Lot {lot_size}, level {level}, {severity} inspection (Table {TABLE_NAME[severity]}), "
          f"AQL {heading}: code letter {initial}")
    if path:
        zh += f"，按箭头 {path} 取字码 {letter} 的方案"
        en += f"; arrows {path} lead to code letter {letter}"
    zh += f"；{'表中' if hundred else ''}样本量 {n}，接收数 Ac={ac}，拒收数 Re={ac + 1}"
    en += f"; sample size {n}, accept with Ac={ac}, reject with Re={ac + 1}"
    if hundred:
        zh += f"。样本量不小于批量，改为 100% 检验（全检 {lot_size} 件，判定数不变）"
        en += f". The sample is not smaller than the lot: inspect all {lot_size} units (100 %), same Ac/Re"
    return Plan(lot_size, heading, level, severity, TABLE_NAME[severity], initial, letter, sample, ac, ac + 1,
                hundred, path, zh + "。", en + ".")


def lot_result(defects: int, plan: Plan) -> bool:
    """True when the lot is accepted: nonconforming items (or nonconformities) found ≤ Ac."""
    # AQL ≤ 10 counts nonconforming items (≤ n); above 10 nonconformities, several per unit (bounded).
    top = plan.sample_size if Decimal(plan.aql) <= 10 else plan.sample_size * 100
    if isinstance(defects, bool) or not isinstance(defects, int) or not 0 <= defects <= top:
        raise SamplingError(
            f"不合格数「{defects}」不对：应为 0 到 {top} 之间的整数",
            f"Defects found '{defects}' is wrong: give a whole number from 0 to {top}",
            detail={"field": "defects", "value": str(defects), "max": top})
    return defects <= plan.ac


def tighter_aql(aql: Decimal | str) -> str | None:
    """The AQL one step tighter in the preferred series (None below 0.010)."""
    index = tables.AQLS.index(normalise_aql(aql))
    return tables.AQLS[index - 1] if index else None


def accepted_at_tighter_aql(defects: int, plan: Plan) -> bool | None:
    """Would the lot also have been accepted at the AQL one step tighter (normal inspection, same
    code letter and sample size)? None when that comparison does not exist (no tighter AQL, or
    the tighter column points to another sample size); the switching state then resets the score."""
    lot_result(defects, plan)
    tighter = tighter_aql(plan.aql)
    if tighter is None:
        return None
    letter, n, ac, _ = _cell("normal", plan.code_letter, tighter)
    if n != tables.SAMPLE_SIZES["normal"][plan.code_letter] or letter != plan.code_letter:
        return None
    return defects <= ac
