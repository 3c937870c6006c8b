"""The CSV-folder watcher (connectors/csvwatch) against the device ingest on a real database: a low-voltage
test bench writes one CSV per batch (GBK, as Chinese bench software often does); complete files become
process values of the machine named in each row and move to done/; a wrong file goes to failed/ with an
.error.txt naming row and column in Chinese and English and writes nothing; a crash before the move and a
file dropped twice apply each row once."""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mom.connectors.csvwatch.watcher import FolderWatcher
from mom.engines.devices.ingest import DeviceIngest
from mom.engines.packs import manager
from mom.engines.records import values as V
from mom.engines.records.context import Ctx
from mom.engines.records.service import insert_rows
from mom.platform.composition import form_registry
from mom.platform.db.engine import write_tx

UTC = dt.timezone.utc
HEADER = "设备,序号,额定电流(A),脱扣时间(s),结果,测试时间\n"


def bench_csv(rows: list[tuple[str, int, float, str]]) -> str:
    """MCB time-delay check at 2.55 In (IEC 60898-1: trip between 1 s and 60 s for In ≤ 32 A)."""
    return HEADER + "".join(f"{m},{n},16,{t},{res},2026-12-04T08:{n:02d}:00+08:00\n" for m, n, t, res in rows)


@pytest.fixture
def bench(core_pack: sa.engine.Engine, tmp_path: Path) -> dict[str, Any]:
    engine = core_pack
    manager.execute(engine, None, "install", "equipment", forms_factory=form_registry, tz=UTC)
    with write_tx(engine) as conn:
        compiled = form_registry().get(conn, "device_mapping")
        tags = [{"tag": "trip_s", "expression": 'payload["脱扣时间(s)"]', "unit": "s", "low_limit": Decimal(1),
                 "high_limit": Decimal(60), "deadband": Decimal(0), "on_alarm": "notify"}]
        insert_rows(conn, compiled, Ctx.system(tz=UTC), [V.Prepared(values={
            "code": "BENCH", "name": "测试台 / test bench", "active": True, "topic_pattern": "csv/bench1/#",
            "format": "json", "priority": 0, "machine_expr": 'payload["设备"]',
            "timestamp_expr": 'payload["测试时间"]'}, children={"tags": tags})], audit=False)
    folder = tmp_path / "bench1"
    folder.mkdir()
    ingest = DeviceIngest(engine, form_registry(), source="csv")
    return {"engine": engine, "folder": folder, "watcher": FolderWatcher(folder, ingest, settle_s=0)}


def drop(folder: Path, name: str, text: str, encoding: str = "gbk") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    past = dt.datetime.now().timestamp() - 10
    os.utime(path, (past, past))
    return path


def values(engine: sa.engine.Engine) -> list[tuple[int, Decimal, Decimal, Decimal]]:
    with engine.connect() as conn:
        t = form_registry().get(conn, "process_value").main
        rows = conn.execute(sa.select(t.c.n, t.c.min, t.c.max, t.c.last).where(t.c.tag == "trip_s")
                            .order_by(t.c.bucket_start)).all()
    return [(int(n), Decimal(lo), Decimal(hi), Decimal(last)) for n, lo, hi, last in rows]


def alarms(engine: sa.engine.Engine) -> list[tuple[str, Decimal]]:
    with engine.connect() as conn:
        t = form_registry().get(conn, "device_alarm").main
        return [(k, Decimal(v)) for k, v in conn.execute(sa.select(t.c.kind, t.c.value))]


def test_a_complete_gbk_file_becomes_process_values_and_moves_to_done(bench: dict[str, Any]) -> None:
    folder, watcher = bench["folder"], bench["watcher"]
    drop(folder, "batch_0801.csv", bench_csv([("CNC-1", 1, 3.2, "合格"), ("CNC-1", 2, 4.8, "合格"),
                                              ("CNC-1", 3, 72.5, "不合格")]))
    assert watcher.scan() == []                  # first sight: wait until the size holds still
    [outcome] = watcher.scan()
    assert outcome.status == "done" and outcome.rows == 3 and outcome.report.applied == 3
    assert (folder / "done" / "batch_0801.csv").exists() and not (folder / "batch_0801.csv").exists()
    # one row per minute of the bench's own test time, the 72.5 s trip above the 60 s limit raises an alarm
    assert values(bench["engine"]) == [(1, Decimal("3.2"), Decimal("3.2"), Decimal("3.2")),
                                       (1, Decimal("4.8"), Decimal("4.8"), Decimal("4.8")),
                                       (1, Decimal("72.5"), Decimal("72.5"), Decimal("72.5"))]
    assert alarms(bench["engine"]) == [("high", Decimal("72.5"))]


def test_a_file_still_being_written_or_a_temp_name_waits(bench: dict[str, Any]) -> None:
    folder, watcher = bench["folder"], bench["watcher"]
    path = drop(folder, "growing.csv", bench_csv([("CNC-1", 1, 3.0, "合格")]))
    drop(folder, "next.csv.tmp", bench_csv([("CNC-1", 9, 3.0, "合格")]))
    watcher.scan()
    with path.open("ab") as f:                   # the bench appends another row between two scans
        f.write("CNC-1,2,16,3.1,合格,2026-12-04T08:02:00+08:00\n".encode("gbk"))
    assert watcher.scan() == []
    [outcome] = watcher.scan()
    assert (outcome.name, outcome.rows) == ("growing.csv", 2)
    assert (folder / "next.csv.tmp").exists()


def test_a_bad_file_goes_to_failed_with_row_and_column_named_and_nothing_written(bench: dict[str, Any]) -> None:
    folder, watcher = bench["folder"], bench["watcher"]
    text = bench_csv([("CNC-1", 1, 3.2, "合格")]) + "CNC-1,2,16,4.1,合格,2026-12-04T08:02:00+08:00,多余\n"
    drop(folder, "bad.csv", text, encoding="utf-8")
    watcher.scan()
    [outcome] = watcher.scan()
    assert outcome.status == "failed"
    error = (folder / "failed" / "bad.csv.error.txt").read_text(encoding="utf-8-sig")
    assert "第 3 行第 7 列" in error and "row 3, column 7" in error
    assert "放回" in error and "move it back" in error
    assert (folder / "failed" / "bad.csv").exists()
    assert values(bench["engine"]) == []


def test_an_unknown_machine_names_its_row_and_nothing_of_the_file_is_written(bench: dict[str, Any]) -> None:
    folder, watcher = bench["folder"], bench["watcher"]
    drop(folder, "mixed.csv", bench_csv([("CNC-1", 1, 3.2, "合格"), ("CNC-9", 2, 3.3, "合格")]))
    watcher.scan()
    [outcome] = watcher.scan()
    assert outcome.status == "failed" and "第 3 行：设备编号「CNC-9」不存在" in outcome.zh
    assert "row 3: no machine with code CNC-9" in outcome.en
    assert values(bench["engine"]) == []


def test_a_crash_before_the_move_and_a_file_dropped_twice_apply_each_row_once(bench: dict[str, Any],
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder, watcher = bench["folder"], bench["watcher"]
    text = bench_csv([("CNC-1", 1, 3.2, "合格"), ("CNC-1", 2, 4.8, "合格")])
    drop(folder, "batch.csv", text)

    def killed(*_: Any) -> None:                  # the process dies after the commit, before the move
        raise KeyboardInterrupt

    monkeypatch.setattr(watcher, "_move", killed)
    watcher.scan()
    with pytest.raises(KeyboardInterrupt):
        watcher.scan()
    assert (folder / "batch.csv").exists() and values(bench["engine"])
    restarted = FolderWatcher(folder, DeviceIngest(bench["engine"], form_registry(), source="csv"), settle_s=0)
    restarted.scan()
    [outcome] = restarted.scan()
    assert outcome.status == "done" and (outcome.report.applied, outcome.report.duplicates) == (0, 2)
    # the bench (or a person) drops the same file again: recognised by its content, kept beside the first
    drop(folder, "batch.csv", text)
    restarted.scan()
    [again] = restarted.scan()
    assert again.status == "done" and again.report.duplicates == 2
    assert sorted(p.name.split("-")[0] for p in (folder / "done").iterdir()) == ["batch", "batch.csv"]
    assert [n for n, *_ in values(bench["engine"])] == [1, 1]


def test_no_mapping_for_the_folder_sends_the_file_to_failed_saying_what_to_add(bench: dict[str, Any],
                                                                               tmp_path: Path) -> None:
    other = tmp_path / "bench2"
    other.mkdir()
    watcher = FolderWatcher(other, DeviceIngest(bench["engine"], form_registry(), source="csv"), settle_s=0)
    drop(other, "a.csv", bench_csv([("CNC-1", 1, 3.2, "合格")]))
    watcher.scan()
    [outcome] = watcher.scan()
    assert outcome.status == "failed" and "csv/bench2/a" in outcome.zh and "csv/bench2/#" in outcome.en


def test_mom_devices_watch_once_imports_the_complete_files_and_names_each(bench: dict[str, Any], cli: Any) -> None:
    import json

    folder = bench["folder"]
    drop(folder, "ok.csv", bench_csv([("CNC-1", 1, 3.2, "合格")]))
    drop(folder, "empty.csv", "", encoding="utf-8")
    out = cli("devices", "watch", folder, "--once", "--settle", "0", "--json")
    assert out.exit_code == 0, out.output
    lines = sorted((json.loads(x) for x in out.output.splitlines() if x.startswith("{")), key=lambda d: d["file"])
    assert [(d["file"], d["status"]) for d in lines] == [("empty.csv", "failed"), ("ok.csv", "done")]
    assert "第 1 行应为表头" in lines[0]["message"]["zh-CN"]
    human = cli("devices", "watch", folder, "--once", "--settle", "0")
    assert human.exit_code == 0 and "导入" not in human.output      # nothing left to import


def test_a_bench_time_without_offset_is_the_plants_local_time(bench: dict[str, Any]) -> None:
    from zoneinfo import ZoneInfo

    folder = bench["folder"]
    watcher = FolderWatcher(folder, DeviceIngest(bench["engine"], form_registry(), source="csv",
                                                 tz=ZoneInfo("Asia/Shanghai")), settle_s=0)
    drop(folder, "local.csv", HEADER + "CNC-1,1,16,3.2,合格,2026/12/04 08:01:30\n")
    watcher.scan()
    [outcome] = watcher.scan()
    assert outcome.status == "done"
    with bench["engine"].connect() as conn:
        t = form_registry().get(conn, "process_value").main
        bucket = conn.execute(sa.select(t.c.bucket_start)).scalar_one()
    # 08:01 in Shanghai is 00:01 UTC (the minute bucket), not 08:01 UTC
    assert bucket.astimezone(UTC) == dt.datetime(2026, 12, 4, 0, 1, tzinfo=UTC)


def test_without_the_equipment_pack_the_command_says_so_and_files_stay(core_pack: sa.engine.Engine, cli: Any,
                                                                        tmp_path: Path) -> None:
    folder = tmp_path / "bench3"
    folder.mkdir()
    drop(folder, "a.csv", bench_csv([("CNC-1", 1, 3.2, "合格")]))
    out = cli("devices", "watch", folder, "--once", "--settle", "0")
    assert out.exit_code == 1 and "mom pack install equipment" in out.output
    assert (folder / "a.csv").exists() and not list((folder / "failed").iterdir())


def test_a_database_that_cannot_be_reached_leaves_the_file_for_the_next_scan(tmp_path: Path) -> None:
    folder = tmp_path / "bench4"
    folder.mkdir()
    away = sa.create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'plant.db'}")
    watcher = FolderWatcher(folder, DeviceIngest(away, form_registry(), source="csv"), settle_s=0)
    drop(folder, "a.csv", bench_csv([("CNC-1", 1, 3.2, "合格")]))
    watcher.scan()
    [outcome] = watcher.scan()
    assert outcome.status == "retry" and "数据库暂不可用" in outcome.zh
    assert (folder / "a.csv").exists() and not list((folder / "failed").iterdir())
    [again] = watcher.scan()                       # tried again on the next scan, not forgotten
    assert again.status == "retry"


def test_an_oversized_file_is_refused_unread(bench: dict[str, Any]) -> None:
    from mom.connectors.csvwatch.csvfile import Limits

    folder = bench["folder"]
    watcher = FolderWatcher(folder, DeviceIngest(bench["engine"], form_registry(), source="csv"), settle_s=0,
                            limits=Limits(max_bytes=100))
    drop(folder, "big.csv", bench_csv([("CNC-1", n, 3.2, "合格") for n in range(1, 20)]))
    watcher.scan()
    [outcome] = watcher.scan()
    assert outcome.status == "failed" and "超过上限 100 字节" in outcome.zh and "over the limit of 100" in outcome.en
    assert values(bench["engine"]) == []
