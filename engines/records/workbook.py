"""An export a person can read: the records of a form as she sees them on the screen.

``GET /api/records/{form}/export?layout=people`` (the web app's 导出 button). Compared with the data
layout (stored values, for scripts and integrations, :func:`mom.engines.records.transfer.export_rows`):

- the file and its first sheet are named after the form's label (不合格品处理单.xlsx);
- headers are the fields' labels in the reader's language, the first column 编号 (the record's id);
- a select shows its option's label, a multi-select its labels joined by 、, a boolean 是/否, a user,
  department or reference its display text (under the reader's rights), an attachment its file names,
  a date-time the reader's local time;
- each child table (子表) the reader may see gets a sheet of its own: one row per child row, led by the
  parent's 编号 and the parent's display value, so the rows can be matched by eye or by a lookup.

Permissions and hidden fields are exactly the list's (the same :func:`~mom.engines.records.query.list_records`
pages, action ``export``). Reading it back: the main sheet imports as it is (labels, option labels,
是/否 and display texts are all accepted by import), except attachment columns (file names are not
files: delete that column, or use the data layout); child sheets are not imported.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import FieldSpec
from mom.engines.records import lookup
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.engines.records.query import Filter, list_records
from mom.platform import files

LANGS = ("zh-CN", "en")
ID_HEADER = {"zh-CN": "编号", "en": "No."}
PARENT_HEADER = {"zh-CN": "所属记录编号", "en": "Record No."}
YES_NO = {"zh-CN": ("是", "否"), "en": ("Yes", "No")}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_FILE_BAD = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


def sheet_title(text: str, taken: set[str]) -> str:
    """A worksheet name Excel accepts: no []:*?/\\, at most 31 characters, unique in the workbook."""
    base = _SHEET_BAD.sub("_", str(text)).strip("' ")[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def file_name(label: str, ext: str, fallback: str) -> str:
    """A safe file name from the form's label (no path separators or characters Windows refuses)."""
    base = _FILE_BAD.sub("_", str(label)).strip(" .")[:100] or fallback
    return f"{base}.{ext}"


@dataclass
class PeopleExport:
    """One export: the title, each sheet's (title, header) — the records' first, then one per child
    table — and the rows as (sheet number, cells), streamed page by page."""

    title: str
    sheets: list[tuple[str, list[Any]]]
    rows: Iterator[tuple[int, list[Any]]]


class _Cells:
    """Turns stored values into what a person reads, for one reader's language and time zone."""

    def __init__(self, conn: Connection, lang: str, tz: dt.tzinfo) -> None:
        self.conn, self.lang, self.tz = conn, lang, tz
        self.files: dict[str, str] = {}

    def learn_files(self, fields: list[FieldSpec], docs: list[dict[str, Any]]) -> None:
        """Fetch the file names of the attachments of a page of documents in one statement."""
        keys = [f.key for f in fields if f.value_type == "attachment"]
        tokens = {str(tok) for d in docs for k in keys for tok in (d.get(k) or []) if str(tok) not in self.files}
        if tokens:
            self.files.update({tok: r.filename for tok, r in files.rows_by_token(self.conn, tokens).items()})

    def cell(self, f: FieldSpec, v: Any, shown: Any) -> Any:
        if v is None or v == [] or v == "":
            return None
        if shown is not None:
            return shown
        t = f.value_type
        if t == "select":
            return self._option(f, v)
        if t == "multi_select":
            return "、".join(self._option(f, x) for x in v)
        if t == "boolean":
            return YES_NO[self.lang][0 if v else 1]
        if t == "attachment":
            return "、".join(self.files.get(str(x), str(x)) for x in v)
        if t == "datetime" and isinstance(v, str):
            try:
                when = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                return v
            return when.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S") if when.tzinfo else v
        if isinstance(v, list):
            return "、".join(str(x) for x in v)
        if isinstance(v, dict):
            return str(v)
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    def _option(self, f: FieldSpec, v: Any) -> str:
        label = f.option_labels.get(str(v))
        return label.get(self.lang) or label.get("zh-CN") or str(v) if label else str(v)


def people_export(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, filters: list[Filter] = (),
                  sort: str | None = None, search: str | None = None, lang: str = "zh-CN",
                  child_tables: bool = True) -> PeopleExport:
    """Every record the reader may export (filters, quick search, sort as the list) as people read them.

    The permission is checked here; the rows are read while ``rows`` is consumed (same connection)."""
    lang = lang if lang in LANGS else "zh-CN"
    compiled: CompiledForm = registry.get(conn, form)
    access = form_access(compiled, ctx.actor)
    access.require("export")
    defn = compiled.definition
    fields = [f for f in defn.scalar_fields if access.visible(f.key)]
    tables = [t for t in defn.table_fields if access.visible(t.key)] if child_tables else []
    lead_at = next((i for i, f in enumerate(fields) if f.key == defn.display_field), None)
    sheets = [(defn.label.get(lang) or defn.label["zh-CN"], [ID_HEADER[lang]] + [f.label[lang] for f in fields])]
    sheets += [(t.label[lang], [PARENT_HEADER[lang]] + ([fields[lead_at].label[lang]] if lead_at is not None else [])
                + [c.label[lang] for c in t.children]) for t in tables]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        cells = _Cells(conn, lang, ctx.tz)
        for docs in _pages(conn, registry, ctx, form, filters, sort, search, bool(tables)):
            cells.learn_files(fields + [c for t in tables for c in t.children], _with_children(docs, tables))
            for doc in docs:
                disp = doc.get("_display", {})
                row = [doc["id"]] + [cells.cell(f, doc.get(f.key), disp.get(f.key)) for f in fields]
                yield 0, row
                lead = [doc["id"]] + ([row[1 + lead_at]] if lead_at is not None else [])
                for n, t in enumerate(tables, start=1):
                    for child in doc.get(t.key) or []:
                        cd = child.get("_display", {})
                        yield n, lead + [cells.cell(c, child.get(c.key), cd.get(c.key)) for c in t.children]

    return PeopleExport(sheets[0][0], sheets, rows())


def _pages(conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, filters: list[Filter], sort: str | None,
           search: str | None, children: bool) -> Iterator[list[dict[str, Any]]]:
    after = None
    while True:
        page = list_records(conn=conn, registry=registry, ctx=ctx, form=form, filters=list(filters), sort=sort,
                            limit=500, after=after, action="export", search=search, expand_children=children)
        yield page["items"]
        after = page["next"]
        if after is None:
            return


def _with_children(docs: list[dict[str, Any]], tables: list[FieldSpec]) -> list[dict[str, Any]]:
    return docs + [c for d in docs for t in tables for c in d.get(t.key) or []]


def write_people_xlsx(export: PeopleExport, target: IO[bytes]) -> None:
    """The export as a workbook: the records' sheet first, then a sheet per child table; headers bold,
    frozen, columns wide enough for their header."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook(write_only=True)   # each sheet streams to its own temporary file
    taken: set[str] = set()
    bold = Font(bold=True)
    sheets = []
    for title, header in export.sheets:
        ws = wb.create_sheet(sheet_title(title, taken))
        ws.freeze_panes = "A2"
        for i, h in enumerate(header, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(40, max(10, 2 * len(str(h)) + 4))
        head = []
        for h in header:
            c = WriteOnlyCell(ws, value=h)
            c.font = bold
            head.append(c)
        ws.append(head)
        sheets.append(ws)
    for n, row in export.rows:
        sheets[n].append(row)
    wb.save(target)


def people_csv_rows(export: PeopleExport) -> Iterator[list[Any]]:
    """The records' sheet only (a CSV file has one sheet; child tables need the .xlsx)."""
    yield export.sheets[0][1]
    for n, row in export.rows:
        if n == 0:
            yield row
