"""One test-bench CSV file (测试台文件) read into rows: UTF-8 (with or without BOM) or GBK/GB 18030,
a header row, comma / tab / semicolon separated, every size bounded.

``read_table(path)`` returns a ``CsvTable`` or raises ``InvalidInput`` listing every problem with its
row and column, as a spreadsheet shows them (the header is row 1), in Chinese and English. Cells
become numbers when they are numbers (``12.5``, ``-3``, ``1e3``), except identifiers with a leading
zero (``007``); an empty cell is None.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import re
from pathlib import Path
from typing import Any

from mom.platform.errors import InvalidInput, Problem, TooLarge


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one file may hold (a bench writes a few hundred rows; these stop a wrong file early)."""

    max_bytes: int = 10 * 1024 * 1024
    max_rows: int = 100_000
    max_columns: int = 200
    max_cell_chars: int = 2_000
    max_problems: int = 50


@dataclasses.dataclass(frozen=True)
class CsvTable:
    """A file's rows: ``rows`` are (row number, {column: value}); ``sha256`` of the bytes."""

    header: list[str]
    rows: list[tuple[int, dict[str, Any]]]
    encoding: str
    delimiter: str
    sha256: str


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")
_DELIMITERS = (",", "\t", ";")
_DELIMITER_NAMES = {",": "逗号 / comma", "\t": "制表符 / tab", ";": "分号 / semicolon"}


def cell(text: str) -> Any:
    """A cell's value: None when empty, int or float when it is a number, else the trimmed text."""
    s = text.strip()
    if not s:
        return None
    if _NUMBER.match(s) and not (len(s) > 1 and s[0] == "0" and s[1].isdigit()):
        if "." in s or "e" in s or "E" in s:
            value = float(s)
            return value if value == value and abs(value) != float("inf") else s
        return int(s)
    return s


def _decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name): UTF-8 first (a BOM dropped), then GB 18030 (a superset of GBK)."""
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as utf8:
        try:
            return data.decode("gb18030"), "GBK"
        except UnicodeDecodeError:
            row = data[: utf8.start].count(b"\n") + 1
            raise InvalidInput(
                f"文件编码无法识别：第 {row} 行既不是 UTF-8 也不是 GBK。请让测试台以 UTF-8 或 GBK 保存",
                f"unknown text encoding: row {row} is neither UTF-8 nor GBK; save the file as UTF-8 or GBK",
                problems=[Problem(f"/rows/{row}", f"第 {row} 行编码无法识别", f"row {row}: unknown encoding",
                                  "encoding")]) from None


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max(_DELIMITERS, key=first.count) if any(d in first for d in _DELIMITERS) else ","


def _column(i: int, header: list[str]) -> tuple[str, str]:
    """'第 3 列「电流」' / 'column 3 "电流"' for the 0-based column ``i``."""
    name = header[i] if i < len(header) else ""
    return (f"第 {i + 1} 列「{name}」" if name else f"第 {i + 1} 列"), (f'column {i + 1} "{name}"' if name else f"column {i + 1}")


def read_table(path: Path, limits: Limits = Limits()) -> CsvTable:
    """Read ``path`` whole; every problem at once (up to ``limits.max_problems``), nothing half-read."""
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise TooLarge(f"文件 {size} 字节，超过上限 {limits.max_bytes} 字节：请让测试台按批次分成较小的文件",
                       f"the file is {size} bytes, over the limit of {limits.max_bytes}: split it into smaller files",
                       problems=[Problem("", "文件过大", "file too large", "max_bytes")])
    data = path.read_bytes()
    text, encoding = _decode(data)
    delimiter = _delimiter(text)
    problems: list[Problem] = []

    def problem(row: int, col: int | None, zh: str, en: str, header: list[str], code: str = "invalid") -> None:
        if col is None:
            problems.append(Problem(f"/rows/{row}", f"第 {row} 行：{zh}", f"row {row}: {en}", code))
        else:
            czh, cen = _column(col, header)
            problems.append(Problem(f"/rows/{row}/{col + 1}", f"第 {row} 行{czh}：{zh}", f"row {row}, {cen}: {en}", code))

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    row_no = 0
    try:
        for cells in reader:
            row_no += 1
            if len(problems) >= limits.max_problems:
                break
            if not any(c.strip() for c in cells):
                continue   # a blank line (often the last one)
            if not header:
                header = [c.strip() for c in cells]
                _check_header(header, row_no, limits, problem)
                if problems:
                    break
                continue
            if len(rows) >= limits.max_rows:
                problem(row_no, None, f"文件超过 {limits.max_rows} 行数据，请分成较小的文件",
                        f"more than {limits.max_rows} data rows: split the file", header, "max_rows")
                break
            _check_row(cells, row_no, header, limits, problem)
            values = dict(zip(header, (cell(c) for c in cells), strict=False))
            rows.append((row_no, values))
    except csv.Error as exc:
        problem(row_no + 1, None, f"CSV 格式错误（{exc}），常见原因是引号未配对",
                f"CSV syntax error ({exc}), often an unmatched quote", header)
    if not header and not problems:
        problems.append(Problem("/rows/1", "文件是空的：第 1 行应为表头（列名）",
                                "the file is empty: row 1 must be the header (column names)", "required"))
    if problems:
        raise InvalidInput(f"文件有 {len(problems)} 处错误，第一处：{problems[0].zh}",
                           f"the file has {len(problems)} problem(s), the first: {problems[0].en}",
                           problems=problems, detail={"encoding": encoding, "delimiter": delimiter})
    return CsvTable(header, rows, encoding, delimiter, hashlib.sha256(data).hexdigest())


def _check_header(header: list[str], row: int, limits: Limits, problem: Any) -> None:
    if len(header) > limits.max_columns:
        problem(row, None, f"表头有 {len(header)} 列，超过上限 {limits.max_columns}",
                f"{len(header)} columns, over the limit of {limits.max_columns}", header, "max_columns")
        return
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            problem(row, i, "列名为空：表头每一列都要有名字", "empty column name: every header cell needs a name",
                    header, "required")
        elif name in seen:
            problem(row, i, f"列名与第 {seen[name] + 1} 列重复", f"the same name as column {seen[name] + 1}",
                    header, "duplicate")
        elif len(name) > 100:
            problem(row, i, "列名超过 100 个字符", "a column name over 100 characters", header, "max_cell_chars")
        seen.setdefault(name, i)


def _check_row(cells: list[str], row: int, header: list[str], limits: Limits, problem: Any) -> None:
    extra = [i for i in range(len(header), len(cells)) if cells[i].strip()]
    if extra:
        problem(row, extra[0], f"有 {len(cells)} 个值，表头只有 {len(header)} 列：请删掉多出的值或补上列名",
                f"{len(cells)} values but {len(header)} header columns: remove the extra value or name the column",
                header, "columns")
    elif len(cells) < len(header):
        problem(row, len(cells), f"只有 {len(cells)} 个值，表头有 {len(header)} 列：缺少的值请留空但保留分隔符",
                f"{len(cells)} values but {len(header)} header columns: keep the separator for an empty value",
                header, "columns")
    for i, c in enumerate(cells[: len(header)]):
        if len(c) > limits.max_cell_chars:
            problem(row, i, f"内容超过 {limits.max_cell_chars} 个字符", f"over {limits.max_cell_chars} characters",
                    header, "max_cell_chars")
