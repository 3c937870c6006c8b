"""`mom devices listen|simulate|status` (设备数据, issue 23; docs/devices.md).

- ``listen``: the long-running MQTT consumer (settings MOM_MQTT_*): QoS 1, persistent session, each flush in
  one transaction, acknowledged after it commits; stops cleanly on Ctrl-C / SIGTERM;
- ``simulate``: N machines publishing JSON states, counters and process values at a rate; prints its own
  totals (JSON with --json) so they can be compared with what the platform counted; ``--setup`` first adds
  the simulated machines (SIM-001 …) and the simulator's device mapping when they are missing;
- ``status``: per machine the last message, sequence and current state; unknown machines / unmapped topics.
"""
from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from typing import Any

import click

from mom.platform.cli.common import HelpGroup, echo_json, reports_errors
from mom.platform.cli.devices_watch import watch_cmd
from mom.platform.hookspecs import hookimpl
from mom.platform.settings import get_settings


@click.group(cls=HelpGroup, help="设备数据：MQTT 采集、模拟器、状态 / device data: MQTT consumer, simulator, status")
def devices() -> None:
    pass


@devices.command("listen", help="连接 MQTT 服务器并持续采集设备数据（Ctrl-C 停止）/ consume device data from the MQTT broker")
@click.option("--topic", "topics", multiple=True, help="订阅的主题（可多次；默认 MOM_MQTT_TOPICS）/ topic filter (repeatable)")
@click.option("--client-id", default=None, help="客户端 ID（默认 MOM_MQTT_CLIENT_ID）/ client id")
@click.option("--idle-exit", type=float, default=None, help="这么多秒收不到消息就退出（测试用）/ exit after this many idle seconds")
@reports_errors
def listen_cmd(topics: tuple[str, ...], client_id: str | None, idle_exit: float | None) -> None:
    from mom.connectors.mqtt.client import DeviceConsumer
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.platform.cli.common import form_registry, open_engine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    engine = open_engine()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    consumer = DeviceConsumer(engine, form_registry(), settings, client_id=client_id, topic_filters=list(topics) or None,
                              tz=plant_tz(settings.timezone))
    click.echo(f"采集中 / listening: {settings.mqtt_host}:{settings.mqtt_port} {', '.join(consumer.filters)}", err=True)
    totals = consumer.run(stop, idle_exit_s=idle_exit)
    click.echo(f"已停止 / stopped: 收到 {consumer.received} 条，写入 {totals.applied}，重复 {totals.duplicates}，"
               f"跳过 {totals.malformed + consumer.skipped}，未知设备 {totals.unknown_machine} / received {consumer.received}, "
               f"applied {totals.applied}, duplicates {totals.duplicates}, skipped {totals.malformed + consumer.skipped}, "
               f"unknown machine {totals.unknown_machine}", err=True)


def sim_mapping(prefix: str) -> dict[str, Any]:
    """The simulator's mapping for topics ``<prefix>/<machine code>/data``."""
    from mom.connectors.mqtt.simulator import MAPPING

    levels = [p for p in prefix.strip("/").split("/") if p] or ["mom", "sim"]
    if levels == ["mom", "sim"]:
        return dict(MAPPING)
    return {**MAPPING, "topic_pattern": "/".join(levels + ["+", "data"]), "machine_expr": f"segments[{len(levels)}]"}


def _setup(codes: list[str], prefix: str = "mom/sim") -> list[str]:
    """Add the simulated machines (on the first work centre) and the simulator's mapping for ``prefix``, when missing."""
    import sqlalchemy as sa

    from mom.engines.records import service as S
    from mom.engines.records.context import Ctx
    from mom.platform.cli.common import form_registry, open_engine
    from mom.platform.db.engine import write_tx

    engine, forms, done = open_engine(), form_registry(), []
    with write_tx(engine) as conn:
        ctx = Ctx.system()
        mt = forms.get(conn, "machine").main
        have = set(conn.execute(sa.select(mt.c.code).where(mt.c.code.in_(codes))).scalars())
        wc = conn.execute(sa.select(forms.get(conn, "work_center").main.c.id).limit(1)).scalar()
        if wc is None:
            raise click.ClickException("还没有工作中心：请先建一个 / there is no work centre yet: add one first")
        new = [{"code": c, "name": f"模拟设备 {c}", "work_center": wc} for c in codes if c not in have]
        if new:
            S.create_records(conn=conn, registry=forms, ctx=ctx, form="machine", docs=new)
            done.append(f"{len(new)} 台设备 / machines")
        done += _sim_rules(conn, forms, ctx, codes)
        mp = forms.get(conn, "device_mapping").main
        mapping = sim_mapping(prefix)
        old = conn.execute(sa.select(mp.c.id, mp.c.topic_pattern, mp.c.priority)
                           .where(mp.c.code == mapping["code"], mp.c.deleted_at.is_(None))).first()
        rivals, above = _rivals(conn, mp, [f"{'/'.join(p for p in prefix.strip('/').split('/') if p) or 'mom/sim'}/{c}/data"
                                           for c in codes], mapping["code"])
        raised = bool(rivals) and (old is None or int(old.priority or 0) < above)
        if old is None:
            S.create_records(conn=conn, registry=forms, ctx=ctx, form="device_mapping",
                             docs=[{**mapping, "priority": above} if rivals else mapping])
            done.append(f"映射 / mapping {mapping['code']}（{mapping['topic_pattern']}）")
        else:
            patch: dict[str, Any] = {"priority": above} if raised else {}
            if old.topic_pattern != mapping["topic_pattern"]:     # --prefix changed: the mapping follows it
                patch |= {"topic_pattern": mapping["topic_pattern"], "machine_expr": mapping["machine_expr"]}
                done.append(f"映射 / mapping {mapping['code']} → {mapping['topic_pattern']}")
            if patch:
                S.update_record(conn=conn, registry=forms, ctx=ctx, form="device_mapping", record_id=int(old.id), patch=patch)
        if raised:
            names = "、".join(rivals)
            done.append(f"注意 / note: 映射 {mapping['code']} 的优先级为 {above}，高于同一主题的映射 {names}：这个主题的消息"
                        f"（含模拟设备的）按 {mapping['code']} 解析，带振动波形 / mapping {mapping['code']} has priority {above}, above "
                        f"{', '.join(rivals)} on the same topic: its messages (the simulator's too) use {mapping['code']}")
    return done


def _rivals(conn: Any, mp: Any, topics: list[str], code: str) -> tuple[list[str], int]:
    """Other active mappings that match the simulator's topics (they would take its messages) and the priority
    one above theirs (mapping.py: the highest priority wins)."""
    import sqlalchemy as sa

    from mom.engines.devices.mapping import topic_regex

    rows = conn.execute(sa.select(mp.c.code, mp.c.topic_pattern, mp.c.priority).where(
        mp.c.deleted_at.is_(None), mp.c.active.is_(True), mp.c.code != code)).all()
    hit = [r for r in rows if r.topic_pattern and any(topic_regex(str(r.topic_pattern)).match(t) for t in topics)]
    return [str(r.code) for r in hit], max([int(r.priority or 0) + 1 for r in hit] + [0])


def _sim_rules(conn: Any, forms: Any, ctx: Any, codes: list[str]) -> list[str]:
    """An EWMA condition rule on each simulated machine's temperature (target 60 ℃, σ 3 ℃), when missing."""
    import sqlalchemy as sa

    from mom.engines.devices.condition import rule_form
    from mom.engines.records import service as S

    rf = rule_form(conn, forms)
    if rf is None:
        return []
    mt = forms.get(conn, "machine").main
    ids = dict(conn.execute(sa.select(mt.c.code, mt.c.id).where(mt.c.code.in_(codes), mt.c.deleted_at.is_(None))).all())
    have = set(conn.execute(sa.select(rf.main.c.machine).where(rf.main.c.tag == "temp", rf.main.c.deleted_at.is_(None))).scalars())
    docs = [{"name": "模拟设备温度漂移 / simulated temperature drift", "machine": mid, "tag": "temp", "method": "ewma",
             "lam": 0.2, "ewma_l": 3, "target": 60, "sigma": 3, "min_points": 3} for mid in ids.values() if mid not in have]
    if docs:
        S.create_records(conn=conn, registry=forms, ctx=ctx, form="condition_rule", docs=docs)
    return [f"{len(docs)} 条状态监测规则 / condition rules"] if docs else []


@devices.command("simulate", help="模拟 N 台设备发布状态、计数和工艺参数 / simulate N machines publishing JSON")
@click.option("--machines", "count", type=click.IntRange(1, 10_000), default=5, show_default=True, help="设备台数 / machines")
@click.option("--codes", default="", help="设备编号，逗号分隔（代替 --machines）/ machine codes, comma-separated")
@click.option("--messages", type=click.IntRange(1, 10_000_000), default=100, show_default=True, help="每台设备的消息数 / messages per machine")
@click.option("--rate", type=float, default=200.0, show_default=True, help="每秒消息数（全部设备；0 不限速）/ messages a second in all (0: no limit)")
@click.option("--prefix", default="mom/sim", show_default=True, help="主题前缀 / topic prefix")
@click.option("--seed", type=int, default=None, help="随机种子 / random seed")
@click.option("--spike-every", type=click.IntRange(0, 10_000_000), default=0, help="每台设备每 N 条来一次温度尖峰 / a temperature spike every N messages")
@click.option("--drift-after", type=click.IntRange(0, 10_000_000), default=0, help="第 N 条消息后温度缓慢漂移（演示状态监测）/ temperature drifts after message N")
@click.option("--waveform-every", type=click.IntRange(0, 10_000_000), default=0, help="每 N 条消息带一段振动波形 / a vibration waveform every N messages")
@click.option("--setup", is_flag=True, help="先建模拟设备和映射 / add the simulated machines and mapping first")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def simulate_cmd(count: int, codes: str, messages: int, rate: float, prefix: str, seed: int | None, spike_every: int,
                 drift_after: int, waveform_every: int, setup: bool, as_json: bool) -> None:
    from mom.connectors.mqtt import simulator

    machine_codes = [c.strip() for c in codes.split(",") if c.strip()] or simulator.codes(count)
    for line in _drift_notes(drift_after, messages, len(machine_codes), rate):
        click.echo(line, err=True)
    if setup:
        for line in _setup(machine_codes, prefix):
            click.echo(line if line.startswith("注意") else f"已添加 / added: {line}", err=True)
    res = simulator.run(get_settings(), machine_codes, messages=messages, rate=rate, prefix=prefix, seed=seed,
                        spike_every=spike_every, drift_after=drift_after, waveform_every=waveform_every)
    if as_json:
        echo_json(res.as_dict())
        return
    for code, m in res.machines.items():
        click.echo(f"{code}: 消息 {m['messages']}  产量 {m['total']}  良品 {m['good']}  废品 {m['scrap']}  状态变化 {m['state_changes']}"
                   f" / messages {m['messages']} total {m['total']} good {m['good']} scrap {m['scrap']}")
    click.echo(f"共发布 {res.published} 条，用时 {res.seconds:.1f} 秒 / published {res.published} in {res.seconds:.1f} s")


def _drift_notes(drift_after: int, messages: int, machines: int, rate: float) -> list[str]:
    """Why ``--drift-after`` would show nothing: it is past the last message, or the run is too short for the
    condition rules, which work on per-minute means (docs/devices.md)."""
    if not drift_after:
        return []
    if drift_after >= messages:
        return [f"注意 / note: --drift-after {drift_after} 不小于每台设备的消息数 --messages {messages}：不会出现漂移"
                f" / the drift starts after the last message: no drift"]
    seconds = machines * messages / rate if rate > 0 else 0.0
    if seconds < 180:
        return [f"注意 / note: 整个模拟约 {seconds:.0f} 秒；状态监测按每分钟均值判断，几分钟的数据才看得到漂移报警"
                f"（如 --messages 900 --rate 6，2 台设备约 5 分钟）/ the run lasts about {seconds:.0f} s: condition rules "
                "work on per-minute means, so a drift alarm needs several minutes (e.g. --messages 900 --rate 6)"]
    return []


@devices.command("status", help="各设备最后一条消息、当前状态和未知设备 / last message and state per machine, unknown machines")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@reports_errors
def status_cmd(as_json: bool) -> None:
    from mom.engines.devices.status import health
    from mom.platform.cli.common import form_registry, open_engine
    from mom.platform.db.engine import read_tx

    engine = open_engine()
    with read_tx(engine) as conn:
        h: dict[str, Any] = health(conn, form_registry(), dt.datetime.now(dt.timezone.utc))
    if as_json:
        echo_json(h)
        return
    from mom.engines.forms.fieldtypes import plant_tz

    tz = plant_tz(get_settings().timezone)
    for m in h["machines"]:
        click.echo(f"{m['code'] or m['machine']}: 状态 / state {m['state'] or '-'} 自 / since {_local(m['since'], tz)}  "
                   f"最后消息 / last message {_local(m['last_message'], tz)}（{_ago(m['silent_s'])}）")
    for u in h["unknown"]:
        kind, _, what = str(u["key"]).partition(":")
        zh, en = _KINDS.get(kind, ("未知", "unknown"))
        click.echo(f"{zh} / {en} {what}：{u['messages']} 条消息 / messages，最后 / last {_local(u['last_seen'], tz)}")
    if not h["machines"] and not h["unknown"]:
        click.echo("还没有收到设备数据 / no device data yet")


_KINDS = {"machine": ("未知设备编号", "unknown machine"), "topic": ("没有映射的主题", "unmapped topic"),
          "mapping": ("映射取不到设备编号", "mapping gives no machine code")}


def _local(iso: str | None, tz: dt.tzinfo) -> str:
    """An ISO time in plant time, to the second (``-`` when empty)."""
    if not iso:
        return "-"
    return dt.datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _ago(seconds: float | None) -> str:
    """``2 小时 5 分钟前 / 2 h 5 min ago`` (seconds when under a minute)."""
    if seconds is None:
        return "-"
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s} 秒前 / {s} s ago"
    d, rest = divmod(s // 60, 24 * 60)
    h, mi = divmod(rest, 60)
    zh = (f"{d} 天 " if d else "") + (f"{h} 小时 " if h or d else "") + f"{mi} 分钟前"
    en = (f"{d} d " if d else "") + (f"{h} h " if h or d else "") + f"{mi} min ago"
    return f"{zh} / {en}"


devices.add_command(watch_cmd)   # mom devices watch: the test-bench CSV folder watcher (devices_watch)


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    return [devices]
