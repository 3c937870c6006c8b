"""Judging an inspection lot (判定, issue 22), when it moves 检验中 → 已判定 by the form's 判定 button:

- every sampled position must have its reading: for each defect class with *n* samples, each of the
  plan's characteristics of that class on samples 1…n (numeric: a value; attribute: 合格/不合格).
  Missing ones refuse the judge in words: 「第 3 件『外径』还没有读数」;
- a numeric reading outside [LSL, USL] is not ok (the engine sets ``ok``; an absent limit does not bound);
- a sample counts once per class (its worst characteristic of that class); class rejected when its
  nonconforming samples ≥ Re; the lot rejected when any class is;
- the switching state of each class (per inspection type × item × supplier × class) moves with
  :func:`switching.next_state` and is stored in ``quality_state``; the change is written on the lot in
  words (``switching_note``). Lots with a fixed sample size (first article, patrol) do not switch, nor do
  resubmitted lots (``resubmitted``: the NCR's re-inspection after rework/sorting) — GB/T 2828.1-2012 §9.3.2
  counts lots "on original inspection (i.e. ignoring resubmitted lots or batches for this procedure)";
- afterwards (:mod:`iqc`): an IQC lot's stock lot is released or blocked, a rejection opens an NCR.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.quality import inspection as I
from mom.engines.quality import sampling
from mom.engines.quality.switching import State, next_state
from mom.engines.quality.switching import resume as resume_state
from mom.engines.records import service as S
from mom.engines.records.batch import update_many
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict, InvalidInput, Problem

MAX_NAMED = 5      # missing readings named in the message; the rest counted


def _dec(v: Any) -> Decimal | None:
    return None if v is None or v == "" else (v if isinstance(v, Decimal) else Decimal(str(v)))


def conforms(ch: Mapping[str, Any], row: Mapping[str, Any] | None) -> bool | None:
    """Whether a reading conforms (None: no reading)."""
    if row is None:
        return None
    if ch.get("kind") == "attribute":
        return row.get("ok") if row.get("ok") is not None else None
    value = _dec(row.get("value"))
    if value is None:
        return None
    lsl, usl = _dec(ch.get("lsl")), _dec(ch.get("usl"))
    return (lsl is None or value >= lsl) and (usl is None or value <= usl)


def per_class(lot: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    try:
        got = json.loads(lot.get("sampling") or "{}")
    except ValueError:
        got = {}
    return {k: v for k, v in got.items() if k in I.CLASSES and isinstance(v, dict)}


def missing(chars: list[dict[str, Any]], cells: Mapping[tuple[int, int], Mapping[str, Any]],
            classes: Mapping[str, Mapping[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(sample_no, characteristic) positions still without a reading, in sample then characteristic order."""
    out = []
    top = max((int(c["n"]) for c in classes.values()), default=0)
    for s in range(1, top + 1):
        for ch in chars:
            c = classes.get(str(ch.get("defect_class") or "major"))
            if c is not None and s <= int(c["n"]) and conforms(ch, cells.get((s, int(ch["seq_no"])))) is None:
                out.append((s, ch))
    return out


def refuse_missing(gaps: list[tuple[int, dict[str, Any]]]) -> InvalidInput:
    named = [f"第 {s} 件『{ch.get('name')}』" for s, ch in gaps[:MAX_NAMED]]
    named_en = [f"sample {s}, “{ch.get('name')}”" for s, ch in gaps[:MAX_NAMED]]
    more = f"等 {len(gaps)} 个读数" if len(gaps) > MAX_NAMED else ""
    zh = f"{'、'.join(named)}{more}还没有读数：请录入后再判定（计量项目填测量值，计数项目选合格或不合格）"
    en = (f"{'; '.join(named_en)}{f' and {len(gaps) - MAX_NAMED} more' if len(gaps) > MAX_NAMED else ''} have no reading yet: "
          "enter them, then judge (a value for a measured characteristic, pass/fail for an attribute)")
    return InvalidInput(zh, en, problems=[Problem("/results", f"第 {s} 件『{ch.get('name')}』还没有读数",
                                                  f"sample {s}, “{ch.get('name')}”: no reading", "required")
                                          for s, ch in gaps[:50]])


def judge(conn: Connection, forms: Any, ctx: Ctx, lot_id: int) -> dict[str, Any]:
    """Decide the lot moved to 已判定 (see the module docstring); returns the lot as now stored."""
    lot_form = I.require_form(conn, forms, I.LOT)
    lot = _row(conn, lot_form, lot_id)
    results = S.load_children(conn, lot_form, [int(lot_id)], ["results"])[int(lot_id)]["results"]
    chars = I.characteristics(conn, forms, int(lot["plan"]))
    by_seq = {int(c["seq_no"]): c for c in chars if c.get("seq_no") is not None}
    classes = per_class(lot)
    cells = {(int(r["sample_no"]), int(r["char_seq"])): r for r in results
             if r.get("sample_no") is not None and r.get("char_seq") is not None}
    gaps = missing(chars, cells, classes)
    if gaps:
        raise refuse_missing(gaps)
    rows = []
    for r in results:   # ok computed for numeric readings; the characteristic's name filled in
        ch = by_seq.get(int(r.get("char_seq") or 0))
        row = {k: r.get(k) for k in ("id", "sample_no", "char_seq", "characteristic", "value", "ok", "defect_code", "note")}
        if ch is not None:
            row["characteristic"] = str(ch.get("name") or "")[:100]
            if ch.get("kind") != "attribute":
                row["ok"] = conforms(ch, r)
        rows.append(row)
    defects = count_defects(chars, cells, classes)
    verdict = {k: defects[k] < int(c["re"]) for k, c in classes.items()}
    accepted = all(verdict.values())
    patch: dict[str, Any] = {"results": rows, "result": "accepted" if accepted else "rejected",
                             "inspected_by": ctx.actor.id, "inspected_at": ctx.now,
                             **{f"defects_{k}": (defects[k] if k in classes else None) for k in I.CLASSES}}
    notes = switch(conn, forms, ctx, lot, classes, defects, verdict)
    patch["switching_note"] = ("；".join(notes) or "抽样严格度不变")[:300]
    with I.engine_writes(conn):
        update_many(conn=conn, registry=forms, ctx=I.acting(ctx), form=lot_form.name, patches=[(int(lot_id), patch, None)])
    return {**lot, **{k: v for k, v in patch.items() if k != "results"}}


def _row(conn: Connection, compiled: Any, rid: int) -> dict[str, Any]:
    t = compiled.main
    return dict(conn.execute(t.select().where(t.c.id == int(rid))).mappings().one())


def count_defects(chars: list[dict[str, Any]], cells: Mapping[tuple[int, int], Mapping[str, Any]],
                  classes: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Nonconforming samples per class among that class's samples 1…n (a sample counts once per class)."""
    out = {k: 0 for k in I.CLASSES}
    for k, c in classes.items():
        mine = [ch for ch in chars if str(ch.get("defect_class") or "major") == k]
        for s in range(1, int(c["n"]) + 1):
            if any(conforms(ch, cells.get((s, int(ch["seq_no"])))) is False for ch in mine):
                out[k] += 1
    return out


def switch(conn: Connection, forms: Any, ctx: Ctx, lot: Mapping[str, Any], classes: Mapping[str, Mapping[str, Any]],
           defects: Mapping[str, int], verdict: Mapping[str, bool]) -> list[str]:
    """Move and store each sampled class's switching state; the changes in words."""
    state_form = I.pack_form(conn, forms, I.STATE)
    if state_form is None:
        return []
    if lot.get("resubmitted"):   # GB/T 2828.1 §9.3.2: switching counts original inspection only
        return ["复检批（返工/挑选后再次提交）：不计入抽样转移"]
    itype = str(lot["inspection_type"])
    supplier = lot.get("supplier") if itype == "iqc" else None
    notes: list[str] = []
    for k, c in classes.items():
        if c.get("fixed"):
            continue
        key = I.state_key(itype, int(lot["item"]), supplier, k)
        try:
            with conn.begin_nested():       # the first judge of this key may meet another one creating it
                text = _move_state(conn, forms, ctx, state_form, lot, key, c, defects[k], verdict[k])
        except (sa.exc.IntegrityError, Conflict):
            # another inspector's first judge of the same item × supplier × class committed the state row just
            # now (the unique index refused ours): this lot moves the state that judge wrote
            text = _move_state(conn, forms, ctx, state_form, lot, key, c, defects[k], verdict[k])
        if text:
            notes.append(text)
    return notes


def _move_state(conn: Connection, forms: Any, ctx: Ctx, state_form: Any, lot: Mapping[str, Any], key: dict[str, Any],
                c: Mapping[str, Any], defects: int, accepted: bool) -> str | None:
    """Move one class's stored switching state by this lot (locked; created on the first lot); the change in words."""
    k = key["defect_class"]
    row, state = I.load_state(conn, forms, key, lock=True)
    if state.discontinued:
        return f"{I.CLASS_ZH[k]}：抽样检验已暂停，本批不计入转移，待供方纠正后由质量经理恢复"
    if state.severity != c["severity"]:
        return (f"{I.CLASS_ZH[k]}：本批按开单时的{sampling.SEVERITY_ZH.get(c['severity'])}抽样，期间已转为"
                f"{sampling.SEVERITY_ZH.get(state.severity)}，本批不计入转移")
    plan = sampling.plan(I.lot_size(lot.get("lot_qty")), c["aql"], c["level"], c["severity"])
    tighter = sampling.accepted_at_tighter_aql(min(int(defects), plan.sample_size), plan)
    new, event = next_state(state, accepted, plan, would_accept_tighter=tighter)
    text = f"{I.CLASS_ZH[k]}：{event.note_zh}" if event else None
    values = {**key, "severity": "discontinued" if new.discontinued else new.severity,
              "state": json.dumps(new.to_dict()), "last_event": (text or (row or {}).get("last_event"))}
    with I.engine_writes(conn):
        if row is None:
            S.create_records(conn=conn, registry=forms, ctx=I.acting(ctx), form=state_form.name, docs=[values])
        else:
            keep = ("severity", "state", "last_event")
            update_many(conn=conn, registry=forms, ctx=I.acting(ctx), form=state_form.name,
                        patches=[(int(row["id"]), {k2: values[k2] for k2 in keep}, None)])
    return text


def worst_defect_code(results: list[Mapping[str, Any]]) -> int | None:
    """The defect code most often given on the nonconforming readings (for the NCR)."""
    codes = Counter(int(r["defect_code"]) for r in results if r.get("defect_code") is not None and r.get("ok") is False)
    return codes.most_common(1)[0][0] if codes else None


def resume(conn: Connection, forms: Any, ctx: Ctx, state_id: int) -> None:
    """A discontinued switching state resumed by a quality manager (恢复抽样检验): on tightened, counters reset."""
    compiled = I.require_form(conn, forms, I.STATE)
    row = _row(conn, compiled, state_id)
    try:
        state = State.from_dict(json.loads(row.get("state") or "{}"))
    except (ValueError, sampling.SamplingError):
        state = State("tightened", discontinued=True)
    new, event = resume_state(state) if state.discontinued else (State("tightened"), None)
    text = f"{I.CLASS_ZH.get(str(row.get('defect_class')), '')}：{event.note_zh if event else '恢复抽样检验：从加严检验开始'}"
    with I.engine_writes(conn):
        update_many(conn=conn, registry=forms, ctx=I.acting(ctx), form=compiled.name,
                    patches=[(int(state_id), {"state": json.dumps(new.to_dict()), "last_event": text[:300]}, None)])
