"""Reading an uploaded CSV or XLSX file as rows, with every size bounded before it can cost much.

A spreadsheet is small on the wire and can be huge in memory: a 2 MB XLSX may unpack to 14 million
rows, a CSV line may hold 200,000 columns. So the reader checks, in this order and before the work
each check protects:

- XLSX: that it is a zip at all; the zip directory (declared unpacked size of the whole file and of
  each part, compression ratio of each part); then every XML part the reader will parse is scanned
  once with expat in constant memory (rows and cells of each sheet, elements of every other part,
  the longest text, no DTD/entities); then openpyxl opens it in read-only mode (cached values only,
  external links ignored), the first sheet's declared dimension is checked, and rows are streamed.
- CSV: the encoding (UTF-8 with or without BOM, else GB18030/GBK as Chinese Excel writes it, checked
  over the whole file before any row is read), the length of a physical line, the columns of a row.
- both: rows, columns, characters of a cell, NUL characters, and the time spent (a :class:`Stop`
  also carries a cancel flag: client gone, server shutting down).

Every refusal is a :class:`~mom.platform.errors.MomError`: ``too_large`` (413) for a size or time
limit, ``invalid_input`` (422) for a broken file, each naming the row/column or part and what to do.
Nothing here touches the database.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from mom.platform.errors import InvalidInput, MomError, Problem, TooLarge

SAVE_AS = "请在 Excel 中“另存为”CSV UTF-8（逗号分隔）或 .xlsx 后再导入"
SAVE_AS_EN = 'in Excel use "Save as" CSV UTF-8 (comma delimited) or .xlsx, then import again'
SPLIT = "请拆分后分批导入"
SPLIT_EN = "split the file and import the parts one after another"
CHUNK = 1 << 20
OTHER_PART_ELEMENTS = 300_000    # styles, workbook, merged cells …: openpyxl builds these whole, so keep them modest
SHARED_STRING_ELEMENTS = 2_000_000   # openpyxl keeps the whole shared-string table in memory (~1M strings: ~160 MB)
CELL_TAGS = frozenset("c v f is r rPr t rPh b i u strike condense extend outline shadow vertAlign sz color rFont "
                      "family charset scheme".split())
LINE_SLACK = 4                   # characters a CSV cell may add around its text: quotes, delimiter


class Cancelled(MomError):
    """A running import was stopped from outside (client gone, server shutting down); nothing was written."""

    code = "cancelled"


@dataclass(frozen=True)
class TableLimits:
    """The bounds of one import file (settings ``import_max_*``)."""

    max_rows: int = 200_000
    max_columns: int = 200
    max_cell_chars: int = 32_767
    max_uncompressed_bytes: int = 256 * 1024 * 1024
    max_ratio: float = 100.0
    max_seconds: float = 300.0
    memory_bytes: int = 256 * 1024 * 1024   # checked rows kept in memory by all imports of a process (then a temp file)

    @classmethod
    def from_settings(cls, s: Any) -> TableLimits:
        """The limits configured in :class:`~mom.platform.settings.Settings`."""
        return cls(max_rows=s.import_max_rows, max_columns=s.import_max_columns, max_cell_chars=s.import_max_cell_chars,
                   max_uncompressed_bytes=s.import_max_uncompressed_bytes, max_ratio=s.import_max_ratio,
                   max_seconds=s.import_max_seconds, memory_bytes=s.import_memory_bytes)


class Stop:
    """The deadline of one import and its cancel flag; :meth:`check` is called per chunk of work."""

    def __init__(self, seconds: float, cancel: threading.Event | None = None) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.cancel = cancel or threading.Event()
        self.reason = ("导入已取消（连接已断开或服务正在停止），未导入任何数据",
                       "the import was cancelled (the client went away or the server is stopping); nothing was imported")

    def request(self, zh: str, en: str) -> None:
        """Ask the running import to stop at its next check, saying why."""
        self.reason = (zh, en)
        self.cancel.set()

    def check(self) -> None:
        """Raise if the import was cancelled or is over its time."""
        if self.cancel.is_set():
            raise Cancelled(*self.reason)
        if time.monotonic() > self.deadline:
            n = f"{self.seconds:g}"
            raise TooLarge(f"导入超过 {n} 秒的时间上限，未导入任何数据：{SPLIT}",
                           f"the import took longer than the limit of {n} seconds; nothing was imported: {SPLIT_EN}")


def format_of(filename: str) -> str:
    """``csv`` or ``xlsx`` from a file name (no suffix: csv)."""
    return Path(filename).suffix.lower().lstrip(".") or "csv"


def read_table(stream: IO[bytes], fmt: str, limits: TableLimits | None = None, stop: Stop | None = None) -> Iterator[list[Any]]:
    """The rows of the file (header first), each a list of cell values, every bound checked on the way.

    ``stream`` must be seekable (an upload's spooled file or an opened file)."""
    limits = limits or TableLimits()
    stop = stop or Stop(limits.max_seconds)
    if fmt == "csv":
        rows = _rows_csv(stream, limits, stop)
    elif fmt == "xlsx":
        rows = _rows_xlsx(stream, limits, stop)
    else:
        raise InvalidInput(f"不支持的文件格式 .{fmt}：请用 .csv 或 .xlsx", f"unsupported file format .{fmt}: use .csv or .xlsx")
    return _bounded(rows, limits, stop, fmt == "csv")


def _bounded(rows: Iterator[list[Any]], limits: TableLimits, stop: Stop, text: bool) -> Iterator[list[Any]]:
    """``rows`` with every bound checked; ``text``: every cell is a str (CSV), checked a row at a time."""
    cap, width, chars = limits.max_rows + 1, limits.max_columns, limits.max_cell_chars
    for n, cells in enumerate(rows, start=1):
        if n > cap:
            _too_many_rows(limits, n)
        if len(cells) > width:
            cells = _trim(cells)
            if len(cells) > width:
                _too_many_columns(n, len(cells), width)
        if text:
            whole = "".join(cells)   # no cell is longer than the row, and a NUL anywhere is in it
            if len(whole) > chars or "\x00" in whole:
                for i, v in enumerate(cells):
                    if len(v) > chars or "\x00" in v:
                        _bad_cell(n, i, v, chars)
        else:
            for i, v in enumerate(cells):
                if type(v) is str and (len(v) > chars or "\x00" in v):
                    _bad_cell(n, i, v, chars)
        if not n & 63:
            stop.check()
        yield cells


def _too_many_rows(limits: TableLimits, n: int) -> None:
    raise TooLarge(f"文件超过 {limits.max_rows:,} 行的上限（不含表头），未导入任何数据：{SPLIT}",
                   f"the file has more than {limits.max_rows:,} rows (the limit, header not counted); "
                   f"nothing was imported: {SPLIT_EN}", problems=[Problem(f"/rows/{n}", "超出行数上限", "over the row limit", "max_rows")])


def _too_many_columns(n: int, count: int, width: int) -> None:
    raise TooLarge(f"第 {n} 行有 {count:,} 列，超过 {width} 列的上限：请删去不导入的列",
                   f"row {n} has {count:,} columns, more than the limit of {width}: delete the columns not imported",
                   problems=[Problem(f"/rows/{n}", "列数超出上限", "too many columns", "max_columns")])


def _trim(cells: list[Any]) -> list[Any]:
    """A row without its empty cells at the end (Excel often keeps formatted empty columns)."""
    end = len(cells)
    while end and (cells[end - 1] is None or cells[end - 1] == ""):
        end -= 1
    return cells[:end]


def _bad_cell(row: int, col: int, v: str, chars: int) -> None:
    where = f"/rows/{row}/{col + 1}"
    if "\x00" in v:
        raise InvalidInput(f"第 {row} 行第 {col + 1} 列含有空字符（NUL），这不是正常的表格文字：{SAVE_AS}",
                           f"row {row}, column {col + 1} contains a NUL character, which is not spreadsheet text: {SAVE_AS_EN}",
                           problems=[Problem(where, "含有空字符（NUL）", "contains a NUL character", "nul")])
    raise TooLarge(f"第 {row} 行第 {col + 1} 列有 {len(v):,} 个字符，超过每格 {chars:,} 个字符的上限：请缩短该单元格",
                   f"row {row}, column {col + 1} has {len(v):,} characters, more than the limit of {chars:,} per cell: shorten it",
                   problems=[Problem(where, "单元格过长", "cell too long", "max_cell_chars")])


# ---------------------------------------------------------------- CSV

def _encoding(stream: IO[bytes], stop: Stop) -> tuple[str, int]:
    """UTF-8 (BOM or not) or GB18030 (covers GBK/GB2312), decided over the whole file, and the number
    of line breaks in it; else a clear refusal."""
    stream.seek(0)
    head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidInput(f"文件是 UTF-16（Excel 的“Unicode 文本”）编码：{SAVE_AS}",
                           f"the file is UTF-16 encoded (Excel's \"Unicode text\"): {SAVE_AS_EN}",
                           problems=[Problem("/file", "编码为 UTF-16", "UTF-16 encoded", "encoding")])
    else:
        candidates = ["utf-8", "gb18030"]
    for enc in candidates:
        stream.seek(0)
        dec = codecs.getincrementaldecoder(enc)()
        offset = breaks = 0
        try:
            while block := stream.read(CHUNK):
                dec.decode(block)
                offset += len(block)
                breaks += block.count(b"\n")
                stop.check()
            dec.decode(b"", final=True)
            stream.seek(0)
            return enc, breaks
        except UnicodeDecodeError as exc:
            bad_at = offset + exc.start
    stream.seek(0)
    line, left = 1, bad_at
    while left > 0 and (block := stream.read(min(CHUNK, left))):
        line += block.count(b"\n")
        left -= len(block)
    stream.seek(0)
    where, where_en = f"第 {line} 行", f"line {line}"
    raise InvalidInput(f"文件编码无法识别（{where}既不是 UTF-8 也不是 GB18030/GBK）：{SAVE_AS}",
                       f"unknown text encoding ({where_en} is neither UTF-8 nor GB18030/GBK): {SAVE_AS_EN}",
                       problems=[Problem(f"/rows/{line}", "编码不是 UTF-8 或 GBK",
                                         "not UTF-8 or GBK", "encoding")])


def _check_lines(stream: IO[bytes], limit: int, stop: Stop) -> None:
    """Refuse a line longer than ``limit`` bytes before the CSV reader builds it (a line of a million
    commas would be a list of a million cells)."""
    stream.seek(0)
    run = line = 0   # run: bytes of the current line read so far; line: line breaks passed
    while block := stream.read(CHUNK):
        parts = block.split(b"\n")
        for i, part in enumerate(parts):
            if (run if i == 0 else 0) + len(part) > limit:
                raise TooLarge(f"文件第 {line + i + 1} 行超过 {limit:,} 字节：列太多或单元格太长，请检查该行",
                               f"line {line + i + 1} of the file is longer than {limit:,} bytes (too many columns or too "
                               f"long cells): check that line",
                               problems=[Problem(f"/rows/{line + i + 1}", "行过长", "line too long", "max_columns")])
        run = run + len(parts[0]) if len(parts) == 1 else len(parts[-1])
        line += len(parts) - 1
        stop.check()
    stream.seek(0)


def _rows_csv(stream: IO[bytes], limits: TableLimits, stop: Stop) -> Iterator[list[Any]]:
    enc, breaks = _encoding(stream, stop)
    _check_lines(stream, limits.max_columns * (limits.max_cell_chars + LINE_SLACK), stop)
    cap, width = limits.max_rows + 1, limits.max_columns
    if breaks >= cap:
        # more lines than rows allowed (a quoted cell may span lines): a quick first pass counts the
        # rows, so that a file over the limit is refused before any row is checked against the form
        for n, cells in enumerate(_csv_rows(stream, enc, limits, stop), start=1):
            if n > cap:
                _too_many_rows(limits, n)
            if len(cells) > width and len(_trim(cells)) > width:
                _too_many_columns(n, len(_trim(cells)), width)
            if not n & 255:
                stop.check()
        stream.seek(0)
    yield from _csv_rows(stream, enc, limits, stop)


def _csv_rows(stream: IO[bytes], enc: str, limits: TableLimits, stop: Stop) -> Iterator[list[Any]]:
    text = io.TextIOWrapper(stream, encoding=enc, newline="")
    reader = csv.reader(text)   # lines were measured first (_check_lines); a cell is bounded by csv's field limit
    try:
        yield from reader
    except csv.Error as exc:
        n = reader.line_num
        if "field larger than field limit" in str(exc):
            raise TooLarge(f"文件第 {n} 行附近有超过 {csv.field_size_limit():,} 个字符的单元格：请检查引号是否配对",
                           f"near line {n} a cell is longer than {csv.field_size_limit():,} characters: check that quotes are paired",
                           problems=[Problem(f"/rows/{n}", "单元格过长", "cell too long", "max_cell_chars")]) from None
        raise InvalidInput(f"文件第 {n} 行不是有效的 CSV（{exc}）：{SAVE_AS}", f"line {n} is not valid CSV ({exc}): {SAVE_AS_EN}",
                           problems=[Problem(f"/rows/{n}", "CSV 格式错误", "invalid CSV", "csv")]) from None
    finally:
        with contextlib.suppress(ValueError):   # leave the caller's stream open (unless it is closed already)
            text.detach()


# ---------------------------------------------------------------- XLSX

def _not_xlsx(zh: str, en: str, part: str = "/file") -> InvalidInput:
    return InvalidInput(f"文件不是有效的 .xlsx（{zh}）：{SAVE_AS}", f"the file is not a valid .xlsx ({en}): {SAVE_AS_EN}",
                        problems=[Problem(part, zh, en, "xlsx")])


def _open_zip(stream: IO[bytes], limits: TableLimits) -> zipfile.ZipFile:
    stream.seek(0)
    magic = stream.read(8)
    stream.seek(0)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise _not_xlsx("这是旧版 .xls 文件，请另存为 .xlsx", "this is an old .xls file; save it as .xlsx")
    if not magic.startswith(b"PK"):
        raise _not_xlsx("可能已损坏或不是 Excel 文件", "not a zip archive")
    try:
        zf = zipfile.ZipFile(stream)
        infos = zf.infolist()
    except Exception as exc:   # zipfile reports a damaged or unsupported archive in several ways
        raise _not_xlsx("可能已损坏或不是 Excel 文件", f"damaged zip: {exc}"[:200]) from None   # the technical text in English only
    total = 0
    cap_mb = limits.max_uncompressed_bytes / 2**20
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > CHUNK and ratio > limits.max_ratio:
            raise TooLarge(f"文件中的 {info.filename} 压缩比为 {ratio:,.0f}:1，超过 {limits.max_ratio:g}:1 的上限"
                           f"（常见于异常或恶意文件）：请在 Excel 中打开后另存为 CSV UTF-8 再导入",
                           f"part {info.filename} is compressed {ratio:,.0f}:1, more than the limit of {limits.max_ratio:g}:1 "
                           f"(typical of broken or hostile files): open it in Excel and save as CSV UTF-8",
                           problems=[Problem(f"/file/{info.filename}", "压缩比过高", "compression ratio too high", "max_ratio")])
        if total > limits.max_uncompressed_bytes:
            raise TooLarge(f"文件解压后超过 {cap_mb:,.0f} MB 的上限：{SPLIT}",
                           f"the file unpacks to more than the limit of {cap_mb:,.0f} MB: {SPLIT_EN}",
                           problems=[Problem("/file", "解压后过大", "too large unpacked", "max_uncompressed_bytes")])
    return zf


class _Scan:
    """Counts what openpyxl would build from one XML part, in constant memory (expat, start tags only)."""

    def __init__(self, part: str, limits: TableLimits, sheet: bool) -> None:
        self.part, self.limits, self.sheet = part, limits, sheet
        self.rows = self.elements = self.row_elements = self.last_at = 0
        self.cap = SHARED_STRING_ELEMENTS if part.endswith("sharedStrings.xml") else OTHER_PART_ELEMENTS
        self.p = expat.ParserCreate()
        self.p.StartElementHandler = self.start
        self.p.StartDoctypeDeclHandler = self.doctype
        self.p.EntityDeclHandler = self.doctype
        # a text or run of markup between two start tags longer than a cell may be (plus slack for tags)
        self.gap = 4 * limits.max_cell_chars + 4096

    def doctype(self, *_: Any) -> None:
        raise _not_xlsx(f"{self.part} 含有 DTD/实体声明", f"{self.part} has a DTD or entity declaration", f"/file/{self.part}")

    def start(self, name: str, _attrs: Any) -> None:
        at = self.p.CurrentByteIndex
        if at - self.last_at > self.gap:
            self.too_long()
        self.last_at = at
        tag = name.rpartition(":")[2]
        lim = self.limits
        if tag == "row" and self.sheet:
            self.rows += 1
            self.row_elements = 0
            if self.rows > lim.max_rows + 1:
                raise TooLarge(f"工作表 {self.part} 超过 {lim.max_rows:,} 行的上限（不含表头）：{SPLIT}；只导入第一个工作表，其余请删去",
                               f"sheet {self.part} has more than {lim.max_rows:,} rows (the limit, header not counted): "
                               f"{SPLIT_EN}; only the first sheet is imported, delete the others",
                               problems=[Problem(f"/file/{self.part}", "超出行数上限", "over the row limit", "max_rows")])
        elif self.sheet and tag in CELL_TAGS:
            # a cell is a handful of elements (c, v, f, inline text runs); a row of many more is not a table row
            self.row_elements += 1
            if self.row_elements > 16 * lim.max_columns + 64:
                raise TooLarge(f"工作表 {self.part} 第 {self.rows} 行的单元格超过 {lim.max_columns} 列的上限：请删去不导入的列",
                               f"row {self.rows} of sheet {self.part} has more cells than the limit of {lim.max_columns} "
                               f"columns: delete the columns not imported",
                               problems=[Problem(f"/rows/{self.rows}", "列数超出上限", "too many columns", "max_columns")])
        else:
            self.elements += 1
            if self.elements > self.cap:
                self.over(f"{self.part} 的元素超过 {self.cap:,} 个", f"{self.part} has more than {self.cap:,} elements")

    def too_long(self) -> None:
        raise TooLarge(f"{self.part} 中有超过 {self.limits.max_cell_chars:,} 个字符的文字：请缩短过长的单元格",
                       f"{self.part} holds a text longer than {self.limits.max_cell_chars:,} characters: shorten the long cells",
                       problems=[Problem(f"/file/{self.part}", "单元格过长", "cell too long", "max_cell_chars")])

    def over(self, zh: str, en: str) -> None:
        raise TooLarge(f"{zh}，文件结构异常：请在 Excel 中打开后另存为 CSV UTF-8 再导入",
                       f"{en}, an unusual structure: open it in Excel and save as CSV UTF-8",
                       problems=[Problem(f"/file/{self.part}", zh, en, "max_elements")])

    def feed(self, zf: zipfile.ZipFile, stop: Stop) -> None:
        try:
            with zf.open(self.part) as fh:
                while block := fh.read(CHUNK):
                    self.p.Parse(block, False)
                    stop.check()
            self.p.Parse(b"", True)
        except expat.ExpatError as exc:
            raise _not_xlsx(f"{self.part} 第 {exc.lineno} 行的 XML 有误", f"broken XML in {self.part}, line {exc.lineno}",
                            f"/file/{self.part}") from None
        if self.p.CurrentByteIndex - self.last_at > self.gap:
            self.too_long()


def _prescan(zf: zipfile.ZipFile, limits: TableLimits, stop: Stop) -> None:
    for info in zf.infolist():
        name = info.filename
        if not name.endswith((".xml", ".rels")) or name.startswith(("xl/drawings/", "xl/charts/", "xl/media/", "customXml/")):
            continue   # openpyxl's read-only mode never parses these
        if name.startswith("xl/worksheets/_rels/"):
            continue
        sheet = name.startswith("xl/worksheets/")
        try:
            _Scan(name, limits, sheet).feed(zf, stop)
        except MomError:
            raise
        except Exception as exc:   # a damaged part: zipfile, zlib, bz2/lzma or an unsupported method
            raise _not_xlsx(f"{name} 无法解压：{exc}"[:200], f"cannot unpack {name}: {exc}"[:200], f"/file/{name}") from None


def _rows_xlsx(stream: IO[bytes], limits: TableLimits, stop: Stop) -> Iterator[list[Any]]:
    import openpyxl

    zf = _open_zip(stream, limits)
    try:
        _prescan(zf, limits, stop)
    finally:
        zf.close()   # the stream stays open: openpyxl reads it next
    try:
        wb = openpyxl.load_workbook(stream, read_only=True, data_only=True, keep_links=False)
    except MomError:
        raise
    except Exception as exc:   # openpyxl reports a malformed part with many different exception types
        raise _not_xlsx(f"无法读取：{type(exc).__name__}", f"cannot be read: {type(exc).__name__}: {exc}"[:300]) from None
    try:
        if not wb.worksheets:
            raise _not_xlsx("没有工作表", "it has no worksheet")
        ws = wb.worksheets[0]
        rows, cols = ws.max_row or 0, ws.max_column or 0
        if rows > limits.max_rows + 1 or cols > limits.max_columns:
            raise TooLarge(f"工作表“{ws.title}”声明的范围为 {rows:,} 行 × {cols:,} 列，超过 {limits.max_rows:,} 行（不含表头）"
                           f"或 {limits.max_columns} 列的上限：{SPLIT}，或删去多余的空行空列后另存",
                           f"sheet {ws.title!r} declares {rows:,} rows × {cols:,} columns, over the limit of "
                           f"{limits.max_rows:,} rows (header not counted) or {limits.max_columns} columns: {SPLIT_EN}, "
                           f"or delete the extra empty rows/columns and save again",
                           problems=[Problem("/file/dimension", "声明的范围过大", "declared dimension too large", "max_rows")])
        ws.reset_dimensions()   # rows come as stored, not padded out to a declared size
        it = ws.iter_rows(values_only=True)
        while True:
            try:
                row = next(it, None)
            except MomError:
                raise
            except Exception as exc:
                raise _not_xlsx(f"单元格无法读取：{type(exc).__name__}", f"a cell cannot be read: {type(exc).__name__}: {exc}"[:300]) from None
            if row is None:
                return
            yield list(row)
    finally:
        wb.close()
