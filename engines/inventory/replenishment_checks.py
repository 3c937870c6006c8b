"""What a 补料规则 must say that its form's rules cannot check (they see only the rule's own fields):
its location is a 线边仓 (kind ``line_side``) and its source is a location stock can be taken from
(not a 待检 quarantine nor a 废品 scrap location). Checked on every write path (API, import, designer
forms) as a record hook; each refusal names the field and the location."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import documents as D
from mom.engines.inventory.replenishment import RULE
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.errors import InvalidInput, NotFound, Problem
from mom.platform.hookspecs import hookimpl

_KIND_ZH = {"normal": "普通", "line_side": "线边仓", "quarantine": "待检", "scrap": "废品"}


def check(conn: Connection, forms: Any, row: Mapping[str, Any], path: str = "") -> None:
    """Refuse a rule whose location is not line-side or whose source is quarantine or scrap."""
    try:
        locs = D.rows_by_id(conn, D.get(conn, forms, D.LOCATION), [row.get("location"), row.get("source_location")])
    except NotFound:        # the stock forms missing: the form's own checks are all there is
        return
    loc = locs.get(int(row["location"])) if row.get("location") is not None else None
    if loc is not None and loc.get("kind") != "line_side":
        kind = _KIND_ZH.get(str(loc.get("kind")), str(loc.get("kind")))
        raise InvalidInput(f"库位「{D.name_of(loc)}」是{kind}库位，不是线边仓：补料规则的「线边仓」请选线边仓类型的库位",
                           f"location {D.name_of(loc)} is of kind {loc.get('kind')}, not line-side: a replenishment rule keeps "
                           "a line-side location stocked", problems=[Problem(f"{path}/location", "请选线边仓", "choose a line-side location",
                                                                              "line_side")])
    src = locs.get(int(row["source_location"])) if row.get("source_location") is not None else None
    if src is not None and src.get("kind") in ("quarantine", "scrap"):
        kind = _KIND_ZH[str(src.get("kind"))]
        raise InvalidInput(f"发料库位「{D.name_of(src)}」是{kind}库位，不能从这里发料：请选普通仓库库位",
                           f"source location {D.name_of(src)} is a {src.get('kind')} location and stock is not taken from it: "
                           "choose a normal warehouse location", problems=[Problem(f"{path}/source_location", f"{kind}库位不能发料",
                                                                                   f"a {src.get('kind')} location", "source_kind")])


class ReplenishmentRuleHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        if compiled.name != RULE:
            return
        for i, r in enumerate(rows):
            check(conn, self.forms, r, f"/{i}" if len(rows) > 1 else "")

    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if compiled.name == RULE and patched & {"location", "source_location"}:
            check(conn, self.forms, new)


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """补料规则: its location is line-side, its source neither quarantine nor scrap."""
    return ReplenishmentRuleHooks(forms)
