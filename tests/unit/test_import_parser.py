"""The import file reader (engines/records/tabular.py) against malformed and hostile CSV/XLSX bytes:
it yields rows or refuses with one of our errors, never anything else, in bounded memory and time."""
from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Iterable

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mom.engines.records.tabular import Stop, TableLimits, read_table
from mom.platform.errors import MomError

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
       '</Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="xl/workbook.xml"/></Relationships>')
_WB = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
       '<sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>')


def row_xml(cells: Iterable[str]) -> bytes:
    return ("<row>" + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in cells) + "</row>").encode()


def sheet_xlsx(body: Iterable[bytes], *, dimension: str | None = None, header: Iterable[str] = ("code", "name")) -> bytes:
    """An .xlsx whose one sheet is written as XML straight into the zip (as a hostile file would be):
    ``body`` yields the XML of the data rows, so a huge sheet costs only its compressed size."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WB)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'.encode())
            if dimension:
                f.write(f'<dimension ref="{dimension}"/>'.encode())
            f.write(b"<sheetData>" + row_xml(header))
            for chunk in body:
                f.write(chunk)
            f.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def repeated_rows(n: int, cells: Iterable[str] = ("X-1", "a")) -> Iterable[bytes]:
    one = row_xml(cells)
    for _ in range(n // 10_000):
        yield one * 10_000
    yield one * (n % 10_000)


def real_xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def read(data: bytes, fmt: str, **limits: float) -> list[list[object]]:
    return list(read_table(io.BytesIO(data), fmt, TableLimits(**limits)))  # type: ignore[arg-type]


def refusal(data: bytes, fmt: str, **limits: float) -> MomError:
    with pytest.raises(MomError) as info:
        read(data, fmt, **limits)
    return info.value


# ---------------------------------------------------------------- examples

def test_csv_encodings_utf8_bom_and_gb18030_read_the_same() -> None:
    text = "编码,名称\nSUP-1,温州精密铸造\nSUP-2,瑞安𠮷标准件厂\n"
    expected = [["编码", "名称"], ["SUP-1", "温州精密铸造"], ["SUP-2", "瑞安𠮷标准件厂"]]
    for raw in (text.encode(), text.encode("utf-8-sig"), text.encode("gb18030")):
        assert read(raw, "csv") == expected
    assert read("编码,名称\nA,甲\n".encode("gbk"), "csv")[1] == ["A", "甲"]


def test_csv_that_is_neither_utf8_nor_gbk_is_refused_naming_the_line_and_what_to_save_as() -> None:
    err = refusal("code,name\nA,ok\nB,Caf\xe9,\n".encode("latin-1"), "csv")
    assert err.code == "invalid_input" and "line 3" in err.en and "CSV UTF-8" in err.zh
    err = refusal("code,name\n".encode("utf-16"), "csv")
    assert "UTF-16" in err.en


def test_xlsx_that_is_not_a_zip_or_is_an_old_xls_is_refused_clearly() -> None:
    assert "not a zip" in refusal(b"code,name\nA,b\n", "xlsx").en
    assert ".xls" in refusal(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "xlsx").zh
    assert "damaged" in refusal(b"PK\x03\x04" + bytes(100), "xlsx").en


def test_limits_name_row_column_and_the_number() -> None:
    err = refusal(("a,b\n" + "1,2\n" * 11).encode(), "csv", max_rows=10)
    assert err.code == "too_large" and "10 rows" in err.en and "10 行" in err.zh
    err = refusal((",".join(["c"] * 30) + "\n").encode(), "csv", max_columns=20)
    assert err.code == "too_large" and "row 1 has 30 columns" in err.en
    err = refusal(f"a,b\n1,{'x' * 101}\n".encode(), "csv", max_cell_chars=100)
    assert err.problems[0].path == "/rows/2/2"
    err = refusal(b"a,b\n1,x\x00y\n", "csv")
    assert err.code == "invalid_input" and err.problems[0].path == "/rows/2/2"


def test_trailing_empty_columns_do_not_count_and_a_real_xlsx_reads_as_stored() -> None:
    assert read(("a,b" + "," * 50 + "\n1,2\n").encode(), "csv", max_columns=5)[0][:2] == ["a", "b"]
    rows = read(real_xlsx([["code", "qty"], ["A", 1.5], ["B", None]]), "xlsx")
    assert rows[:2] == [["code", "qty"], ["A", 1.5]]


def test_xlsx_bombs_are_refused_before_they_are_unpacked() -> None:
    bomb = sheet_xlsx(repeated_rows(300_000))                              # ~40 MB of XML in a small zip
    err = refusal(bomb, "xlsx")
    assert err.code == "too_large" and "compressed" in err.en
    err = refusal(sheet_xlsx([], dimension="A1:XFD1048576"), "xlsx")
    assert "declares 1,048,576 rows × 16,384 columns" in err.en
    err = refusal(bomb, "xlsx", max_ratio=1e9, max_rows=1000)             # no ratio limit: the row scan stops it
    assert "more than 1,000 rows" in err.en
    err = refusal(bomb, "xlsx", max_ratio=1e9, max_uncompressed_bytes=1 << 20)
    assert "unpacks to more than" in err.en
    wide = sheet_xlsx([row_xml(["v"] * 5000)])
    assert "columns" in refusal(wide, "xlsx", max_ratio=1e9).en


def test_xlsx_with_a_dtd_or_broken_xml_is_refused() -> None:
    evil = sheet_xlsx([b'<row><c t="inlineStr"><is><t>&lol;</t></is></c></row>'])
    assert refusal(evil, "xlsx").code == "invalid_input"
    data = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(sheet_xlsx([]))) as src, zipfile.ZipFile(data, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + body.split(b"?>", 1)[1]
            dst.writestr(info.filename, body)
    assert "DTD" in refusal(data.getvalue(), "xlsx").en


def test_time_limit_and_cancel_stop_the_reader() -> None:
    data = ("a,b\n" + "1,2\n" * 5000).encode()
    stop = Stop(60)
    stop.request("停", "stop")
    with pytest.raises(MomError) as info:
        list(read_table(io.BytesIO(data), "csv", TableLimits(), stop))
    assert info.value.code == "cancelled"
    with pytest.raises(MomError) as info:
        list(read_table(io.BytesIO(data), "csv", TableLimits(), Stop(-1)))
    assert info.value.code == "too_large" and "seconds" in info.value.en


# ---------------------------------------------------------------- properties

MEMORY_CAP = 64 * 1024 * 1024
SMALL = TableLimits(max_rows=500, max_columns=50, max_cell_chars=2000, max_uncompressed_bytes=4 << 20, max_seconds=10)


def _bounded_read(data: bytes, fmt: str) -> None:
    """Reading either works or raises one of our errors, and Python memory stays under the cap."""
    tracemalloc.start()
    try:
        for _ in read_table(io.BytesIO(data), fmt, SMALL, Stop(SMALL.max_seconds)):
            pass
    except MomError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_CAP, peak


csv_text = st.lists(st.lists(st.text(max_size=30), max_size=8), max_size=20).map(
    lambda rows: "\n".join(",".join(r) for r in rows))
hostile_csv = st.one_of(
    st.binary(max_size=2000),
    csv_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    csv_text.flatmap(lambda t: st.sampled_from(["gb18030", "utf-16", "latin-1"]).map(lambda e: t.encode(e, "replace"))),
    st.tuples(st.integers(0, 300), st.sampled_from([b",", b'"', b"\n", b"\r", b"\x00", b"\xff", b'"a""b', b"\xe4\xb8"])).map(
        lambda t: t[1] * t[0] * 10),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_csv)
def test_any_csv_bytes_give_rows_or_our_error_in_bounded_memory(data: bytes) -> None:
    _bounded_read(data, "csv")


xml_bits = st.sampled_from([b"<row>", b"</row>", b"<c>", b"</c>", b'<c r="XFD1"><v>1</v></c>', b'<c r="A99999999"/>',
                            b'<c t="s"><v>7</v></c>', b'<c t="b"><v>x</v></c>', b'<c t="n"><v>abc</v></c>',
                            b'<c t="inlineStr"><is><t>_x0000_</t></is></c>', b"<v>", b"&amp;", b"&#0;", b"\xff", b"<row r='-1'>"])


# real workbooks made once (saving one stamps the time, which would make examples differ between runs)
REAL = [real_xlsx(rows) for rows in ([], [["code", "name"]], [["code", "qty", "when"], ["A", 1.5, "2026-01-02"], ["B", -3, None]],
                                     [["编码"] * 3, ["_x0000_", "\u4e00" * 40, 10**20]])]


@st.composite
def hostile_xlsx(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:   # a real workbook, perhaps cut short or with bytes flipped
        data = bytearray(draw(st.sampled_from(REAL)))
        for pos in draw(st.lists(st.integers(0, len(data) - 1), max_size=3)):
            data[pos] ^= 0xFF
        return bytes(data[:draw(st.integers(0, len(data)))]) if draw(st.booleans()) else bytes(data)
    if kind == 1:   # sheet XML built from fragments, valid or not
        return sheet_xlsx([b"".join(draw(st.lists(xml_bits, max_size=30)))], dimension=draw(st.sampled_from([None, "A1:B2", "A1:XFD1048576", "ZZZZ"])))
    if kind == 2:   # highly repetitive sheets of various sizes
        return sheet_xlsx(repeated_rows(draw(st.integers(0, 3000)), draw(st.lists(st.text(alphabet="ab<&", max_size=3), max_size=4))))
    return draw(st.binary(max_size=3000))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_xlsx())
def test_any_xlsx_bytes_give_rows_or_our_error_in_bounded_memory(data: bytes) -> None:
    _bounded_read(data, "xlsx")
