"""The CSV-folder watcher (测试台文件夹监视): low-voltage test benches write one CSV file per test or
per batch into a folder; each complete file becomes device messages for the device ingest
(``mom.engines.devices.ingest``) and then moves to ``done/`` or, with a ``.error.txt``, to ``failed/``.

- **Complete files only.** The folder is polled (no inotify: it works on a network share). A file is
  taken when its size and modification time are the same on two scans and it is at least
  ``settle_s`` old; names that start with ``.`` or ``~`` or end ``.tmp`` / ``.part`` are never taken,
  so a bench that writes ``x.tmp`` and renames it to ``x.csv`` is picked up on the rename.
- **A row is a message.** Topic ``csv/<folder name>/<file stem>``, payload ``{column: value, …,
  "_file": name, "_row": n}``, message key ``<sha256 of the file, 16 hex>:<row>``. A date-time cell
  without an offset (``2026/12/04 08:01:00``) is the plant's local time (the ingest's ``tz``).
- **All or nothing, exactly once.** A file is checked whole (encoding, header, every row; the mapping
  for its topic; every machine code) before anything is written, then applied in ONE transaction
  with the ingest's per-machine cursor. A crash before the move to ``done/`` leaves the file in place;
  the next run finds its rows already applied (same keys) and only moves it. The same file dropped
  again is recognised by its content.
- A database that is down leaves the file where it is, to be tried on the next scan.
- One watcher per folder: a lock file (``.mom-watch.lock``) refuses a second one.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mom.connectors.csvwatch.csvfile import Limits, read_table
from mom.engines.devices.ingest import DeviceIngest, DeviceMessage, IngestReport, apply_batch
from mom.engines.records.context import SYSTEM, Ctx
from mom.platform.db.engine import write_tx
from mom.platform.errors import Conflict, InvalidInput, MomError, NotFound, Problem

log = logging.getLogger(__name__)
UTC = dt.timezone.utc
_SKIP = (".", "~")
_TEMP = (".tmp", ".part", ".partial", ".crdownload", ".error.txt")
MAX_FILES_PER_SCAN = 100


@dataclasses.dataclass
class FileOutcome:
    """What happened to one file: ``done``, ``failed`` (moved, with its .error.txt) or ``retry``
    (left in place: the database could not be reached)."""

    name: str
    status: str
    rows: int = 0
    report: IngestReport | None = None
    zh: str = ""
    en: str = ""
    moved_to: Path | None = None


class FileRefused(InvalidInput):
    """A file the watcher will not apply (its problems name rows and columns)."""


class FolderWatcher:
    """Polls one folder; ``scan()`` handles what is complete now, ``run()`` scans until stopped."""

    def __init__(self, folder: Path | str, ingest: DeviceIngest, *, pattern: str = "*.csv", settle_s: float = 2.0,
                 limits: Limits = Limits(), clock: Callable[[], float] = time.time) -> None:
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise FileRefused(f"文件夹不存在：{self.folder}", f"no such folder: {self.folder}")
        self.ingest, self.pattern, self.settle_s, self.limits, self.clock = ingest, pattern, settle_s, limits, clock
        self.done, self.failed = self.folder / "done", self.folder / "failed"
        self.done.mkdir(exist_ok=True)
        self.failed.mkdir(exist_ok=True)
        self._seen: dict[str, tuple[int, int]] = {}
        self._lock: Any = None

    # -- the loop ---------------------------------------------------------------------------------------

    def check_ready(self) -> None:
        """Raise ``NotFound`` (in words) when the equipment pack's device forms are not installed."""
        from mom.engines.devices.forms import MAPPING, require

        with self.ingest.engine.connect() as conn:
            require(conn, self.ingest.forms, MAPPING)

    def lock(self) -> None:
        """Hold the folder's lock file (POSIX); a second watcher on the folder gets a ``Conflict``."""
        try:
            import fcntl
        except ImportError:   # Windows: one watcher per folder is up to the operator
            return
        handle = open(self.folder / ".mom-watch.lock", "a+")  # noqa: SIM115 - held for the watcher's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise Conflict(f"文件夹 {self.folder} 已有一个监视程序在运行", f"another watcher already runs on {self.folder}") from None
        self._lock = handle

    def run(self, *, interval: float = 2.0, stop: Any = None, on_file: Callable[[FileOutcome], None] | None = None) -> None:
        """Scan every ``interval`` seconds until ``stop`` (a ``threading.Event``) is set."""
        self.lock()
        while stop is None or not stop.is_set():
            for outcome in self.scan():
                if on_file:
                    on_file(outcome)
            if stop is not None:
                stop.wait(interval)
            else:
                time.sleep(interval)

    def candidates(self) -> list[Path]:
        """Files complete now (stable since the last scan and ``settle_s`` old), oldest first."""
        now = self.clock()
        seen: dict[str, tuple[int, int]] = {}
        ready: list[tuple[float, Path]] = []
        with os.scandir(self.folder) as entries:
            for e in entries:
                name = e.name
                if (name.startswith(_SKIP) or name.lower().endswith(_TEMP) or not e.is_file(follow_symlinks=False)
                        or not fnmatch.fnmatch(name.lower(), self.pattern.lower())):
                    continue
                st = e.stat(follow_symlinks=False)
                sig = (st.st_size, st.st_mtime_ns)
                seen[name] = sig
                if self._seen.get(name) == sig and now - st.st_mtime >= self.settle_s:
                    ready.append((st.st_mtime, Path(e.path)))
        self._seen = seen
        return [p for _, p in sorted(ready)[:MAX_FILES_PER_SCAN]]

    def scan(self) -> list[FileOutcome]:
        """Handle every complete file once; returns what happened to each."""
        out = []
        for path in self.candidates():
            outcome = self.handle(path)
            if outcome.status != "retry":
                self._seen.pop(path.name, None)
            out.append(outcome)
        return out

    # -- one file ---------------------------------------------------------------------------------------

    def topic(self, path: Path) -> str:
        return f"csv/{self.folder.name}/{path.stem}"

    def handle(self, path: Path) -> FileOutcome:
        """Check, apply and move one file."""
        try:
            table = read_table(path, self.limits)
        except MomError as exc:
            return self._fail(path, exc, rows=0)
        topic = self.topic(path)
        received = dt.datetime.now(UTC)
        prefix = table.sha256[:16]
        tz = self.ingest.tz
        messages = [DeviceMessage(topic, {**{k: local_time(v, tz) for k, v in values.items()}, "_file": path.name,
                                          "_row": row}, received, f"{prefix}:{row}")
                    for row, values in table.rows]
        try:
            report = self._apply(path, messages)
        except NotFound as exc:    # the equipment pack is not installed (any more): the file waits for it
            log.warning("csv file %s left for the next scan: %s", path.name, exc.en)
            return FileOutcome(path.name, "retry", len(messages), zh=exc.zh, en=exc.en)
        except MomError as exc:
            return self._fail(path, exc, rows=len(messages))
        except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError) as exc:
            log.warning("csv file %s left for the next scan: %s", path.name, str(exc)[:300])
            return FileOutcome(path.name, "retry", len(messages), zh="数据库暂不可用，稍后重试",
                               en=f"database unavailable, will retry: {str(exc)[:200]}")
        self.ingest.totals.add(report)
        moved = self._move(path, self.done, table.sha256)
        return FileOutcome(path.name, "done", len(messages), report, moved_to=moved,
                           zh=f"已导入 {report.applied} 行，{report.duplicates} 行此前已导入",
                           en=f"{report.applied} row(s) applied, {report.duplicates} already applied before")

    def _apply(self, path: Path, messages: list[DeviceMessage]) -> IngestReport:
        """Check the mapping and machines of every row, then apply them in one transaction (raises
        ``FileRefused`` naming rows, with nothing written)."""
        ing = self.ingest
        ctx = Ctx(actor=SYSTEM, now=dt.datetime.now(UTC), tz=ing.tz)
        with write_tx(ing.engine) as conn:
            ing.caches.refresh(conn, ing.forms)
            if messages:
                self._check(conn, path, messages)
            report = apply_batch(conn, ing.forms, ctx, messages, source="csv", caches=ing.caches)
            if report.malformed or report.unknown_machine or report.unmapped:
                raise FileRefused(f"文件 {path.name} 有 {report.malformed + report.unknown_machine + report.unmapped} "
                                  "行无法按映射读取（详见服务日志），整个文件未导入",
                                  f"{path.name}: rows the mapping cannot read (see the service log); nothing imported")
        return report

    def _check(self, conn: Any, path: Path, messages: list[DeviceMessage]) -> None:
        caches, topic = self.ingest.caches, messages[0].topic
        mapping = caches.mapping_for(topic)
        if mapping is None:
            raise FileRefused(
                f"没有与主题 {topic} 匹配的设备数据映射：请在『设备数据映射』中新建一条（主题如 csv/{self.folder.name}/#），再把文件放回 {self.folder}",
                f"no device mapping matches the topic {topic}: add one (topic e.g. csv/{self.folder.name}/#), "
                f"then move the file back into {self.folder}",
                problems=[Problem("/topic", f"主题 {topic} 无映射", f"no mapping for {topic}", "unmapped")])
        if mapping.machine_id is not None:
            return
        problems: list[Problem] = []
        codes = []
        for m in messages:
            names = {"payload": m.payload, "topic": m.topic, "segments": m.topic.split("/")}
            code = mapping.value("machine_expr", names)
            codes.append((m.payload["_row"], None if code is None else str(code).strip()))
        if any(c and c not in caches.machines for _, c in codes):
            caches.read_machines(conn, self.ingest.forms)
        expr = mapping.exprs["machine_expr"].source
        for row, code in codes:
            if not code:
                problems.append(Problem(f"/rows/{row}", f"第 {row} 行：设备编号表达式 {expr} 取不到值",
                                        f"row {row}: the machine code expression {expr} gives nothing", "required"))
            elif code not in caches.machines:
                problems.append(Problem(f"/rows/{row}", f"第 {row} 行：设备编号「{code}」不存在（表达式 {expr}）",
                                        f"row {row}: no machine with code {code} (expression {expr})", "not_found"))
            if len(problems) >= self.limits.max_problems:
                break
        if problems:
            raise FileRefused(f"文件有 {len(problems)} 处错误，第一处：{problems[0].zh}",
                              f"the file has {len(problems)} problem(s), the first: {problems[0].en}", problems=problems)

    # -- moving -----------------------------------------------------------------------------------------

    def _fail(self, path: Path, exc: MomError, *, rows: int) -> FileOutcome:
        st = path.stat()
        digest = _sha(path) if st.st_size <= self.limits.max_bytes else f"{st.st_size:x}{st.st_mtime_ns:x}"[-16:]
        moved = self._move(path, self.failed, digest)
        lines = [f"文件 {path.name} 未导入 / file {path.name} was not imported", "",
                 exc.zh, exc.en, ""]
        for p in exc.problems:
            lines += [f"- {p.zh}", f"  {p.en}"]
        lines += ["", f"处理办法：改正文件后把它放回 {self.folder}",
                  f"How to fix: correct the file and move it back into {self.folder}", ""]
        error_file = moved.with_name(moved.name + ".error.txt")
        error_file.write_text("\n".join(lines), encoding="utf-8-sig")   # a BOM: Notepad shows the Chinese
        log.warning("csv file %s refused: %s", path.name, exc.en)
        return FileOutcome(path.name, "failed", rows, zh=exc.zh, en=exc.en, moved_to=moved)

    @staticmethod
    def _move(path: Path, folder: Path, digest: str) -> Path:
        """Move ``path`` into ``folder``, keeping its name unless taken (then ``<stem>-<hash8>``)."""
        target = folder / path.name
        n = 0
        while target.exists():
            n += 1
            suffix = f"-{digest[:8]}" + (f"-{n}" if n > 1 else "")
            target = folder / f"{path.stem}{suffix}{path.suffix}"
        os.replace(path, target)
        return target


_LOCAL = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?\Z")


def local_time(value: Any, tz: dt.tzinfo) -> Any:
    """A date-time cell without a UTC offset (``2026/12/04 08:01:00``, ``2026-12-04T08:01``) is the
    bench's local time: written back as ISO text with the plant's offset. Anything else unchanged."""
    if not isinstance(value, str):
        return value
    m = _LOCAL.match(value.strip())
    if m is None:
        return value
    y, mo, d, h, mi, sec, frac = m.groups()
    try:
        t = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0),
                        int((frac or ".0")[1:].ljust(6, "0")), tzinfo=tz)
    except ValueError:
        return value
    return t.isoformat()


def _sha(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
