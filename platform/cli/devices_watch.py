"""`mom devices watch <folder>`: the test-bench CSV folder watcher (测试台文件夹监视; connectors/csvwatch,
docs/devices.md "测试台文件 / CSV folders"). Added to the ``mom devices`` group by devices_cmds.

Runs until Ctrl-C / SIGTERM (``--once``: handle what is complete now and exit, for a scheduled task);
prints one line per file (导入 / done, 失败 / failed with the first problem, 重试 / retry).
"""
from __future__ import annotations

import json
import logging
import signal
import threading
import time
from pathlib import Path

import click

from mom.platform.cli.common import reports_errors


@click.command("watch", help="监视测试台 CSV 文件夹并导入（Ctrl-C 停止）/ watch a test-bench CSV folder and import its files")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--pattern", default="*.csv", show_default=True, help="文件名模式 / file name pattern")
@click.option("--interval", type=click.FloatRange(0.2, 3600), default=2.0, show_default=True,
              help="扫描间隔（秒）/ seconds between scans")
@click.option("--settle", type=click.FloatRange(0, 3600), default=2.0, show_default=True,
              help="文件至少静置几秒才导入 / a file must be this many seconds old")
@click.option("--once", is_flag=True, help="只处理现在已写完的文件后退出 / handle the complete files now and exit")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（每个文件一行）/ print JSON, one line per file")
@reports_errors
def watch_cmd(folder: Path, pattern: str, interval: float, settle: float, once: bool, as_json: bool) -> None:
    from mom.connectors.csvwatch.watcher import FileOutcome, FolderWatcher
    from mom.engines.devices.ingest import DeviceIngest
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.platform.cli.common import form_registry, open_engine
    from mom.platform.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ingest = DeviceIngest(open_engine(), form_registry(), source="csv", tz=plant_tz(get_settings().timezone))
    watcher = FolderWatcher(folder, ingest, pattern=pattern, settle_s=settle)
    watcher.check_ready()

    def show(o: FileOutcome) -> None:
        if as_json:
            click.echo(json.dumps({"file": o.name, "status": o.status, "rows": o.rows, "message": {"zh-CN": o.zh, "en": o.en},
                                   "moved_to": str(o.moved_to) if o.moved_to else None}, ensure_ascii=False))
            return
        word = {"done": "导入 / done", "failed": "失败 / failed", "retry": "重试 / retry"}[o.status]
        click.echo(f"{word}: {o.name}  {o.zh} / {o.en}")

    if once:
        watcher.lock()
        watcher.candidates()                    # first sight: sizes noted
        time.sleep(max(settle, 0.5))
        for outcome in watcher.scan():
            show(outcome)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"监视中 / watching: {watcher.folder} ({pattern})，完成的文件移到 done/，失败的移到 failed/ / "
               "complete files move to done/, refused ones to failed/", err=True)
    watcher.run(interval=interval, stop=stop, on_file=show)
    t = ingest.totals
    click.echo(f"已停止 / stopped: 导入 {t.applied} 行，重复 {t.duplicates} 行 / {t.applied} row(s) applied, "
               f"{t.duplicates} duplicate(s)", err=True)
