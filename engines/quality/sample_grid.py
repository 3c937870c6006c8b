"""The sample grid of an inspection lot (检验录入): rows = the lot's samples, columns = its plan's
characteristics. Pure: reading the cells an inspector sends (bounded, every problem named by
第 N 件『特性』), merging them into the lot's ``results`` rows, whether a cell conforms, the nonconforming
samples per defect class and the missing readings. The database side is ``quality/entry.py``.

The rules are the judge's (``quality/judging.py``): each defect class draws its own *n* samples (the lot
draws the largest; ``sizes``: class -> n), so a characteristic is read on samples 1…n of its class
only. A cell conforms when: numeric — its value lies in [LSL, USL] (an absent limit does not bound);
attribute — the inspector marked it 合格. A sample counts once per class: 1 when any of its
characteristics of that class does not conform (GB/T 2828.1 counts nonconforming units, not
nonconformities)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from mom.platform.errors import InvalidInput, Problem

CLASSES = ("critical", "major", "minor")
CLASS_ZH = {"critical": "致命", "major": "严重", "minor": "轻微"}
MAX_CELLS = 2000                 # the results table's max_rows: one row per reading
MAX_VALUE = Decimal(10) ** 12    # a reading beyond ±10¹² is a typo, not a measurement
SCALE = Decimal("0.000001")      # results.value keeps 6 decimals
MAX_NOTE = 200


@dataclass(frozen=True)
class Characteristic:
    """One column of the grid: a plan characteristic (检验项目)."""

    seq: int
    name: str
    kind: str                      # numeric 计量 | attribute 计数
    defect_class: str
    nominal: Decimal | None = None
    lsl: Decimal | None = None
    usl: Decimal | None = None
    unit: str | None = None
    method: str | None = None
    chart: str | None = None       # an attribute one charted c / u takes each unit's number of defects as its value

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Characteristic:
        def dec(v: Any) -> Decimal | None:
            return None if v is None else Decimal(str(v))

        return cls(seq=int(row["seq_no"] if row.get("seq_no") is not None else row["seq"]), name=str(row.get("name") or ""), kind=str(row.get("kind") or "numeric"),
                   defect_class=str(row.get("defect_class") or "major"), nominal=dec(row.get("nominal")),
                   lsl=dec(row.get("lsl")), usl=dec(row.get("usl")), unit=row.get("unit"), method=row.get("method"),
                   chart=row.get("chart"))

    @property
    def numeric(self) -> bool:
        return self.kind != "attribute"

    @property
    def counts_defects(self) -> bool:
        """An attribute characteristic on a c or u chart: a unit's value is its number of defects (SPC, issue 22)."""
        return not self.numeric and self.chart in ("c", "u")

    def conforms(self, value: Decimal | None, ok: bool | None) -> bool | None:
        """Whether a reading conforms; None while there is no reading."""
        if not self.numeric:
            return ok
        if value is None:
            return None
        return (self.lsl is None or value >= self.lsl) and (self.usl is None or value <= self.usl)


Sizes = Mapping[str, int]


def required(ch: Characteristic, sample_no: int, sizes: Sizes) -> bool:
    """Is (sample, characteristic) a sampled position: its class is sampled and draws this many samples?"""
    return sample_no <= sizes.get(ch.defect_class, 0)


def where(sample_no: int, ch: Characteristic | None, seq: int | None = None) -> tuple[str, str]:
    """第 3 件『外径』 / sample 3, "outer diameter"."""
    name = ch.name if ch is not None else f"#{seq}"
    return f"第 {sample_no} 件『{name}』", f"sample {sample_no}, “{name}”"


def _decimal(v: Any) -> Decimal:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise InvalidOperation
    d = Decimal(str(v).strip().replace("，", ".").replace(",", "."))
    if not d.is_finite() or abs(d) >= MAX_VALUE:
        raise InvalidOperation
    return d.quantize(SCALE, rounding=ROUND_HALF_UP).normalize() if d.as_tuple().exponent < -6 else d


def read_cells(raw: Any, chars: Mapping[int, Characteristic], sizes: Sizes) -> list[dict[str, Any]]:
    """The cells of a save, each ``{sample_no, char_seq, value, ok, defect_code, note}`` (absent keys: None),
    checked: at most :data:`MAX_CELLS`, a sample number within the lot's samples, a characteristic of the plan,
    a finite number for a numeric one, 合格/不合格 (true/false) for an attribute one. All problems at once."""
    if not isinstance(raw, list):
        raise InvalidInput("读数应为列表（每个读数：件号、检验项目、读数或合格与否）",
                           "the readings must be a list (each: sample, characteristic, value or pass/fail)",
                           problems=[Problem("/cells", "读数应为列表", "the readings must be a list", "type")])
    if len(raw) > MAX_CELLS:
        raise InvalidInput(f"一次最多保存 {MAX_CELLS} 个读数（收到 {len(raw)} 个）；请分批保存",
                           f"at most {MAX_CELLS} readings per save (got {len(raw)}); save in parts",
                           problems=[Problem("/cells", f"最多 {MAX_CELLS} 个", f"at most {MAX_CELLS}", "max_items")])
    out: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: dict[tuple[int, int], int] = {}
    for i, c in enumerate(raw):
        cell, bad = _read_cell(c, i, chars, sizes)
        problems.extend(bad)
        if cell is None:
            continue
        key = (cell["sample_no"], cell["char_seq"])
        if key in seen:
            zh, en = where(key[0], chars.get(key[1]))
            problems.append(Problem(f"/cells/{i}", f"{zh}在这次保存中出现了两次（第 {seen[key] + 1} 和第 {i + 1} 个读数）；请只保留一个",
                                    f"{en} is sent twice in this save (readings {seen[key] + 1} and {i + 1}); keep one", "duplicate"))
            continue
        seen[key] = i
        out.append(cell)
    if problems:
        first = problems[0]
        raise InvalidInput(f"读数有 {len(problems)} 处问题：{first.zh}" + ("…" if len(problems) > 1 else ""),
                           f"{len(problems)} problem(s) with the readings: {first.en}" + ("…" if len(problems) > 1 else ""),
                           problems=problems[:50])
    return out


def _whole(v: Any) -> int | None:
    """A whole number sent as a number or as its digits ("3"); None for anything else."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().isascii() and v.strip().isdigit() and len(v.strip()) <= 6:
        return int(v.strip())
    return None


def _read_cell(c: Any, i: int, chars: Mapping[int, Characteristic], sizes: Sizes) -> tuple[dict[str, Any] | None, list[Problem]]:
    at = f"/cells/{i}"
    n = max(sizes.values(), default=0)
    if not isinstance(c, dict):
        return None, [Problem(at, f"第 {i + 1} 个读数应为对象", f"reading {i + 1} must be an object", "type")]
    sample_no, seq = _whole(c.get("sample_no")), _whole(c.get("char_seq"))
    if sample_no is None:
        return None, [Problem(f"{at}/sample_no", f"第 {i + 1} 个读数的件号「{str(c.get('sample_no'))[:20]}」应为 1–{n} 的整数",
                              f"reading {i + 1}: the sample number {str(c.get('sample_no'))[:20]!r} must be a whole number 1–{n}", "type")]
    if not 1 <= sample_no <= max(n, 0):
        return None, [Problem(f"{at}/sample_no", f"第 {i + 1} 个读数的件号 {sample_no} 不在 1–{n} 之内（本单抽 {n} 件）",
                              f"reading {i + 1}: sample {sample_no} is not within 1–{n} (this lot samples {n})", "range")]
    ch = chars.get(seq) if seq is not None else None
    if ch is None:
        shown = str(c.get("char_seq"))[:20]
        return None, [Problem(f"{at}/char_seq", f"第 {sample_no} 件：检验方案中没有第 {shown} 个检验项目",
                              f"sample {sample_no}: the plan has no characteristic {shown}", "unknown")]
    zh, en = where(sample_no, ch)
    if not required(ch, sample_no, sizes):
        k = sizes.get(ch.defect_class, 0)
        why_zh = f"{CLASS_ZH.get(ch.defect_class, ch.defect_class)}缺陷" + (f"只抽 {k} 件" if k else "不抽样")
        why_en = f"{ch.defect_class} defects " + (f"draw {k} samples only" if k else "are not sampled")
        return None, [Problem(at, f"{zh}不在抽样范围内（{why_zh}）", f"{en} is not sampled ({why_en})", "range")]
    cell: dict[str, Any] = {"sample_no": sample_no, "char_seq": seq, "value": None, "ok": None,
                            "defect_code": None, "note": None}
    problems: list[Problem] = []
    value = c.get("value")
    if ch.counts_defects and value is not None and value != "":
        got = int(value) if isinstance(value, float) and value.is_integer() else _whole(value)
        if got is None or not 0 <= got <= 10_000:
            problems.append(Problem(f"{at}/value", f"{zh}填的是缺陷个数：应为 0–10000 的整数（收到「{str(value)[:20]}」）",
                                    f"{en} takes the number of defects: a whole number 0–10000 (got {str(value)[:20]!r})", "type"))
        else:
            cell["value"] = Decimal(got)
            if c.get("ok") is None:             # a unit without defects passes, one with any fails
                c = {**c, "ok": got == 0}
    elif not ch.numeric and value is not None and value != "":
        problems.append(Problem(f"{at}/value", f"{zh}是计数项目，不填数值：请选 合格 或 不合格",
                                f"{en} is an attribute: no value; choose pass or fail", "type"))
    elif value is not None and value != "":
        try:
            cell["value"] = _decimal(value)
        except (InvalidOperation, ValueError):
            problems.append(Problem(f"{at}/value", f"{zh}的读数「{str(value)[:20]}」不是有效的数字；请重新输入",
                                    f"{en}: the reading {str(value)[:20]!r} is not a valid number; enter it again", "type"))
    ok = c.get("ok")
    if ok is not None and not isinstance(ok, bool):
        problems.append(Problem(f"{at}/ok", f"{zh}应选 合格 或 不合格", f"{en}: choose pass or fail", "type"))
    elif not ch.numeric:
        cell["ok"] = ok
    if ch.numeric and ok is not None and cell["value"] is None and not problems:
        problems.append(Problem(f"{at}/value", f"{zh}是计量项目：请输入读数，系统按上下限判定合格与否",
                                f"{en} is measured: enter the reading; pass/fail follows from the limits", "required"))
    code = c.get("defect_code")
    if code is not None:
        if isinstance(code, bool) or not isinstance(code, int) or code < 1:
            problems.append(Problem(f"{at}/defect_code", f"{zh}的缺陷代码无效；请从列表中选择", f"{en}: invalid defect code; pick one from the list", "type"))
        else:
            cell["defect_code"] = code
    note = c.get("note")
    if note is not None:
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            problems.append(Problem(f"{at}/note", f"{zh}的备注最多 {MAX_NOTE} 个字", f"{en}: the note takes at most {MAX_NOTE} characters", "max_length"))
        else:
            cell["note"] = note.strip() or None
    if ch.numeric:
        cell["ok"] = ch.conforms(cell["value"], None)
    return cell, problems


def _empty(cell: Mapping[str, Any]) -> bool:
    return cell.get("value") is None and cell.get("ok") is None and cell.get("defect_code") is None and not cell.get("note")


def merge(rows: Iterable[Mapping[str, Any]], cells: Iterable[Mapping[str, Any]],
          chars: Mapping[int, Characteristic]) -> list[dict[str, Any]]:
    """The lot's ``results`` rows after a save: each sent cell replaces the row of its (sample, characteristic)
    (keeping the row's id), an emptied cell removes it; rows in sample, then characteristic order."""
    by_key: dict[tuple[int, int], dict[str, Any]] = {}
    for r in rows:
        by_key[(int(r["sample_no"]), int(r["char_seq"]))] = dict(r)
    for c in cells:
        key = (int(c["sample_no"]), int(c["char_seq"]))
        if _empty(c):
            by_key.pop(key, None)
            continue
        old = by_key.get(key, {})
        row = {k: c.get(k) for k in ("sample_no", "char_seq", "value", "ok", "defect_code", "note")}
        row["characteristic"] = chars[key[1]].name[:100]
        if old.get("id") is not None:
            row["id"] = old["id"]
        by_key[key] = row
    return [by_key[k] for k in sorted(by_key)]


def cells_by_key(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[int, int], Mapping[str, Any]]:
    return {(int(r["sample_no"]), int(r["char_seq"])): r for r in rows if r.get("sample_no") and r.get("char_seq")}


def _value(r: Mapping[str, Any] | None) -> Decimal | None:
    v = None if r is None else r.get("value")
    return None if v is None else Decimal(str(v))


def conforms(ch: Characteristic, r: Mapping[str, Any] | None) -> bool | None:
    return None if r is None else ch.conforms(_value(r), r.get("ok"))


def defects(chars: Iterable[Characteristic], rows: Iterable[Mapping[str, Any]], sizes: Sizes) -> dict[str, int]:
    """Nonconforming samples per class among that class's samples 1…n (a sample counts once per class)."""
    cells = cells_by_key(rows)
    out = {k: 0 for k in CLASSES}
    chars = list(chars)
    for k in CLASSES:
        mine = [ch for ch in chars if ch.defect_class == k]
        for s in range(1, sizes.get(k, 0) + 1):
            if any(conforms(ch, cells.get((s, ch.seq))) is False for ch in mine):
                out[k] += 1
    return out


def missing(chars: Iterable[Characteristic], rows: Iterable[Mapping[str, Any]], sizes: Sizes) -> list[tuple[int, Characteristic]]:
    """(sample, characteristic) of every sampled position without a reading, in entry order."""
    cells = cells_by_key(rows)
    chars = list(chars)
    top = max(sizes.values(), default=0)
    return [(s, ch) for s in range(1, top + 1) for ch in chars
            if required(ch, s, sizes) and conforms(ch, cells.get((s, ch.seq))) is None]


def missing_error(gaps: list[tuple[int, Characteristic]]) -> InvalidInput:
    """第 3 件『外径』还没有读数 (and how many more)."""
    zh, en = where(gaps[0][0], gaps[0][1])
    more_zh = f"（共 {len(gaps)} 处未填）" if len(gaps) > 1 else ""
    more_en = f" ({len(gaps)} readings missing)" if len(gaps) > 1 else ""
    return InvalidInput(f"{zh}还没有读数{more_zh}；填完全部读数后再判定", f"{en} has no reading yet{more_en}; fill in every reading, then judge",
                        problems=[Problem(f"/results/{s}/{ch.seq}", f"{where(s, ch)[0]}还没有读数", f"{where(s, ch)[1]} has no reading", "required")
                                  for s, ch in gaps[:50]])
