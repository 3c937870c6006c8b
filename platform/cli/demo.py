"""Demo content: departments, roles, users, the core pack with its demo plant, and the demo pack (on top of
core) with its forms and fixture records."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mom.engines.forms import fieldtypes
from mom.engines.packs import manager
from mom.engines.records.context import SYSTEM, Actor, Ctx, actor_by_username
from mom.platform.auth import service as auth
from mom.platform.cli import demo_equipment, demo_quality
from mom.platform.composition import form_registry as forms_registry
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import Conflict
from mom.platform.settings import get_settings


USERS = [("admin", "admin123", "系统管理员", True, "QC", []),
         ("qc1", "qc1pass123", "质检员小王", False, "QC-IQC", ["qc_inspector"]),
         ("qcm", "qcmpass123", "质量经理老陈", False, "QC", ["qc_manager"]),
         ("buyer", "buyerpass123", "采购员小李", False, "PUR", ["purchaser"]),
         ("qe1", "qe1pass123", "质量工程师小赵", False, "QC", ["quality_engineer"]),
         ("pm", "pmpass123", "生产经理老周", False, "PRD", ["production_manager"]),
         ("planner", "plannerpass123", "计划员小孙", False, "PRD", ["planner"]),
         # the equipment pack's roles (issue 23): the repair page's technician and the equipment manager
         ("tech", "techpass123", "维修工小刘", False, "EQP", ["maintenance_tech"]),
         ("eqmgr", "eqmgrpass123", "设备主管老吴", False, "EQP", ["equipment_manager"])]
HEADS = {"QC": "qcm", "PRD": "pm", "EQP": "eqmgr"}


def demo_pack_path() -> Path:
    here = Path(__file__).resolve()
    for base in (here.parents[2], here.parents[1]):
        cand = base / "modelpacks" / "demo"
        if (cand / "pack.json").exists():
            return cand
    import mom.modelpacks as mp  # installed layout

    return Path(list(mp.__path__)[0]) / "demo"


def _actor(engine: Engine, username: str | None) -> Actor:
    """Fixtures may be owned by a demo user, so that department scopes show them to that user."""
    if not username:
        return SYSTEM
    with read_tx(engine) as conn:
        actor = actor_by_username(conn, username)
    return actor or SYSTEM


def load_demo(engine: Engine, *, quality_history: bool = True, equipment_history: bool = True) -> Iterator[str]:
    """``quality_history=False``: without the quality pack's receipts and judged lots (the tests' plant template,
    whose stock and inspection tests count from an empty ledger; tests/integration/test_quality_demo.py adds them);
    ``equipment_history=False``: without the machines' week of production orders, states and counts, PM plans and
    repair order (the template's production and scheduling tests start from an empty shop floor;
    tests/integration/test_equipment_demo.py adds them)."""
    yield from load_people(engine)
    yield from load_packs(engine, quality_history=quality_history, equipment_history=equipment_history)


def load_people(engine: Engine) -> Iterator[str]:
    """The demo's departments and users (with their roles), each made once."""
    with write_tx(engine) as conn:
        auth.ensure_department(conn, "QC", "质量部")
        auth.ensure_department(conn, "QC-IQC", "来料检验组", "QC")
        auth.ensure_department(conn, "PUR", "采购部")
        auth.ensure_department(conn, "PRD", "生产部")
        auth.ensure_department(conn, "EQP", "设备部")
        for username, pw, name, admin, dept, roles in USERS:
            if conn.execute(sa.select(T.user.c.id).where(T.user.c.username == username)).scalar() is None:
                auth.create_user(conn, username=username, password=pw, display_name=name, is_admin=admin,
                                 department=dept, roles=roles)
                yield f"用户 / user {username} (密码 / password {pw})"
        for code, head in HEADS.items():
            uid = conn.execute(sa.select(T.user.c.id).where(T.user.c.username == head)).scalar()
            conn.execute(T.department.update().where(T.department.c.code == code).values(head_user_id=uid))


def load_packs(engine: Engine, *, quality_history: bool = True, equipment_history: bool = True) -> Iterator[str]:
    """The demo pack with demo data (core comes with it), core's demo plant, the quality pack, the equipment pack,
    the inspection readings, the quality and equipment histories."""
    registry = forms_registry()   # demo records go through the same hooks as the API (state machines, events)
    tz = fieldtypes.plant_tz(get_settings().timezone)
    # the demo pack first: it brings core (its dependency) or, over a database with demo 1.x, upgrades
    # it (its migrations move the old materials and production orders into core); then core's own
    # demo plant (items, BOM, routing, work centres …) on top
    _, lines = manager.execute(engine, None, "install", str(demo_pack_path()), forms_factory=forms_registry, demo=True, tz=tz)
    yield from lines
    _, lines = manager.execute(engine, None, "install", str(demo_pack_path().parent / "core"), forms_factory=forms_registry,
                               demo=True, tz=tz)
    yield from lines
    # the quality pack (质量管理) on core: inspection plans, IQC/IPQC/OQC lots, NCR and CAPA
    _, lines = manager.execute(engine, None, "install", str(demo_pack_path().parent / "quality"), forms_factory=forms_registry,
                               demo=True, tz=tz)
    yield from lines
    # the equipment pack (设备管理) on core: ledger, device mapping of the demo machines, spare parts
    clash = _taken_forms(engine, demo_pack_path().parent / "equipment")
    if clash:
        yield (f"设备管理包未安装：数据库里已有同名表单 {'、'.join(clash)}（如旧版演示包的示例表单）；在设计器里给它改名后运行 "
               f"mom pack install equipment --yes --demo / the equipment pack is not installed: the database already has "
               f"form(s) named {', '.join(clash)} (such as the old demo pack's sample form); rename it in the designer, then "
               f"run mom pack install equipment --yes --demo")
    else:
        try:
            _, lines = manager.execute(engine, None, "install", str(demo_pack_path().parent / "equipment"),
                                       forms_factory=forms_registry, demo=True, tz=tz)
        except Conflict as exc:     # e.g. a demo 1.x database whose own 维修工单 form stays (retired, data kept)
            lines = [f"设备管理包未安装 / the equipment pack is not installed: {exc}"]
        yield from lines
    yield from _bore_readings(engine, demo_pack_path(), registry)
    # quality history through the engine: receipts posted, their inspection lots judged (SPC, 质量看板, one NCR)
    if quality_history:
        yield from demo_quality.load_quality_history(engine, registry, demo_pack_path(), tz)
    # the machines' week through the devices engine (安灯看板, OEE), PM plans and the open repair order
    if equipment_history:
        yield from demo_equipment.load_equipment_history(engine, registry, tz)


def _taken_forms(engine: Engine, folder: Path) -> list[str]:
    """The forms of the pack in ``folder`` that the database already has under another owner (another pack, or
    the plant's own, such as the demo pack's old sample maintenance_order): installing the pack would be refused."""
    import json

    manifest = json.loads((folder / "pack.json").read_text(encoding="utf-8"))
    names = [json.loads((folder / f).read_text(encoding="utf-8"))["name"] for f in manifest.get("forms", [])]
    with read_tx(engine) as conn:
        there = set(conn.execute(sa.select(T.form.c.name).where(T.form.c.name.in_(names))).scalars())
        ours = set(conn.execute(sa.select(T.pack_item.c.name).where(
            T.pack_item.c.kind == "forms", T.pack_item.c.pack == manifest["name"])).scalars())
    return sorted(there - ours)


def _bore_readings(engine: Engine, root: Path, registry: object) -> Iterator[str]:
    """25 inspected lots with 5 bore-diameter readings each (the textbook piston-ring data), one lot a
    day up to today, so the SPC widgets of the quality dashboard have something real to show."""
    import json

    from mom.engines.records import service as records

    path = root / "fixtures" / "bore_readings.json"
    if not path.exists():
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    ctx = Ctx(actor=_actor(engine, "qc1"), now=dt.datetime.now(dt.timezone.utc),
              tz=fieldtypes.plant_tz(get_settings().timezone))
    today = ctx.now.astimezone(ctx.tz).date()
    with write_tx(engine) as conn:
        form = registry.get(conn, "iqc_inspection")
        if conn.execute(sa.select(sa.func.count()).select_from(form.main).where(form.main.c.lot_no.like("PR-%"))).scalar():
            return
        docs = []
        n = len(data["subgroups"])
        for i, group in enumerate(data["subgroups"]):
            docs.append({"supplier": "温州精密铸造有限公司", "material": "MAT-1001", "lot_no": f"PR-{i + 1:02d}", "qty": 100,
                         "result": "pass", "inspected_on": (today - dt.timedelta(days=n - 1 - i)).isoformat(),
                         "readings": [{"characteristic": data["characteristic"], "value": v, "lsl": data["lsl"],
                                       "usl": data["usl"]} for v in group]})
        created = records.create_records(conn=conn, registry=registry, ctx=ctx, form="iqc_inspection", docs=docs)
    yield f"iqc_inspection: +{len(created)} (检测数据 / readings)"


def demo_passwords_in_use(engine: Engine) -> list[str]:
    """The active users who can still sign in with the demo password this module gave them
    (``admin``/``admin123`` …): `mom serve` warns about them, and refuses to start in production mode."""
    known = {username: pw for username, pw, *_ in USERS}
    with read_tx(engine) as conn:
        rows = conn.execute(sa.select(T.user.c.username, T.user.c.password_hash)
                            .where(T.user.c.username.in_(known), T.user.c.is_active.is_(True))).all()
    return sorted(r.username for r in rows if auth.verify_password(known[r.username], r.password_hash))
