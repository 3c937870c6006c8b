"""Reading one test-bench CSV file (connectors/csvwatch/csvfile.py): UTF-8 with or without BOM and GBK,
comma / tab / semicolon, numbers as numbers but serial numbers kept as text, and every problem named by
row and column (as a spreadsheet numbers them: the header is row 1) in Chinese and English."""
from __future__ import annotations

from pathlib import Path

import pytest

from mom.connectors.csvwatch.csvfile import Limits, cell, read_table
from mom.platform.errors import InvalidInput, TooLarge


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / "t.csv"
    p.write_bytes(text.encode(encoding))
    return p


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_utf8_with_or_without_bom_and_gbk_read_the_same(tmp_path: Path, encoding: str) -> None:
    t = read_table(write(tmp_path, "序列号,电流(A),结果\nA001,16,合格\n", encoding))
    assert t.header == ["序列号", "电流(A)", "结果"]
    assert t.rows == [(2, {"序列号": "A001", "电流(A)": 16, "结果": "合格"})]
    assert t.encoding == ("GBK" if encoding == "gbk" else "UTF-8")


def test_tab_and_semicolon_files_and_blank_lines(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "a\tb\n1\t2.5\n\n3\t\n"))
    assert t.delimiter == "\t" and t.rows == [(2, {"a": 1, "b": 2.5}), (4, {"a": 3, "b": None})]
    assert read_table(write(tmp_path, "a;b\n1;x\n")).rows == [(2, {"a": 1, "b": "x"})]


def test_cells_become_numbers_except_identifiers_with_a_leading_zero() -> None:
    assert [cell(x) for x in ["12", "-3", "2.55", "1e3", " 7 ", "007", "0.5", "0", "", "合格", "12A"]] == [
        12, -3, 2.55, 1000.0, 7, "007", 0.5, 0, None, "合格", "12A"]


def test_header_problems_are_named_by_column(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_table(write(tmp_path, "序列号,,电流,电流\n1,2,3,4\n"))
    assert [p.zh for p in caught.value.problems] == ["第 1 行第 2 列：列名为空：表头每一列都要有名字",
                                                      "第 1 行第 4 列「电流」：列名与第 3 列重复"]
    assert caught.value.problems[1].en == 'row 1, column 4 "电流": the same name as column 3'


def test_every_row_with_too_few_or_too_many_values_is_listed(tmp_path: Path) -> None:
    text = "序列号,电流,结果\nA1,16,合格\nA2,16\nA3,16,合格,多余\nA4,16,合格,\n"
    with pytest.raises(InvalidInput) as caught:
        read_table(write(tmp_path, text))
    problems = caught.value.problems
    assert [p.path for p in problems] == ["/rows/3/3", "/rows/4/4"]
    assert problems[0].zh.startswith("第 3 行第 3 列「结果」：只有 2 个值，表头有 3 列")
    assert problems[1].en.startswith("row 4, column 4: 4 values but 3 header columns")


def test_an_unmatched_quote_an_empty_file_and_bytes_in_no_known_encoding(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unmatched quote"):
        read_table(write(tmp_path, 'a,b\n1,"2\n'))
    with pytest.raises(InvalidInput, match="row 1 must be the header"):
        read_table(write(tmp_path, "\n\n"))
    p = tmp_path / "bin.csv"
    p.write_bytes(b"a,b\n1,2\n\x81\x30\xff\xff\n")
    with pytest.raises(InvalidInput, match="row 3 is neither UTF-8 nor GBK"):
        read_table(p)


def test_sizes_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(TooLarge, match="over the limit of 10"):
        read_table(write(tmp_path, "a,b\n1,2\n3,4\n"), Limits(max_bytes=10))
    with pytest.raises(InvalidInput, match="more than 2 data rows"):
        read_table(write(tmp_path, "a\n1\n2\n3\n"), Limits(max_rows=2))
    with pytest.raises(InvalidInput, match="3 columns, over the limit of 2"):
        read_table(write(tmp_path, "a,b,c\n1,2,3\n"), Limits(max_columns=2))
    with pytest.raises(InvalidInput, match="over 5 characters"):
        read_table(write(tmp_path, "a\nabcdef\n"), Limits(max_cell_chars=5))
