"""files tied to what they belong to

Every file gets a random public id (``token``); what a file belongs to goes into
``mom_attachment_link``. Stored references move from the old integer ids to the tokens: attachment
fields of every form (main and child tables), workflow task and comment attachments, and the
download links of delivered reports; each becomes a link, so the people who could read a record,
an instance's timeline or a delivered report keep reading its files.

Revision ID: 0008
Revises: 0007
"""
import secrets
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ATT = sa.table("mom_attachment", sa.column("id", sa.Integer), sa.column("token", sa.String))
_LINK = sa.table("mom_attachment_link", sa.column("attachment_id", sa.Integer), sa.column("kind", sa.String),
                 sa.column("name", sa.String), sa.column("ref_id", sa.BigInteger), sa.column("field", sa.String))
_PREFIX = "/api/attachments/"


def upgrade() -> None:
    op.add_column("mom_attachment", sa.Column("token", sa.String(64), nullable=True))
    conn = op.get_bind()
    ids = [int(r[0]) for r in conn.execute(sa.select(_ATT.c.id))]
    for i in ids:
        conn.execute(_ATT.update().where(_ATT.c.id == i).values(token=secrets.token_urlsafe(24)))
    with op.batch_alter_table("mom_attachment") as batch:
        batch.alter_column("token", existing_type=sa.String(64), nullable=False)
    op.create_index("uq_mom_attachment_token", "mom_attachment", ["token"], unique=True)
    op.create_table(
        "mom_attachment_link",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("attachment_id", sa.Integer, sa.ForeignKey("mom_attachment.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False, server_default=""),
        sa.Column("ref_id", sa.BigInteger, nullable=False),
        sa.Column("field", sa.String(130), nullable=False, server_default=""),
    )
    op.create_index("ix_mom_attachment_link_file", "mom_attachment_link", ["attachment_id"])
    op.create_index("ix_mom_attachment_link_owner", "mom_attachment_link", ["kind", "name", "ref_id"])
    token_of = {int(i): t for i, t in conn.execute(sa.select(_ATT.c.id, _ATT.c.token))}
    links: list[dict[str, Any]] = []

    def to_token(v: Any, kind: str, name: str, ref_id: Any, field: str = "") -> Any:
        if isinstance(v, int) and not isinstance(v, bool) and v in token_of:
            links.append({"attachment_id": v, "kind": kind, "name": name, "ref_id": int(ref_id), "field": field})
            return token_of[v]
        return v

    _rewrite(conn, to_token)
    seen = set()
    for link in links:
        key = tuple(link.values())
        if key not in seen:
            seen.add(key)
            conn.execute(_LINK.insert().values(**link))


def downgrade() -> None:
    conn = op.get_bind()
    id_of = {t: int(i) for i, t in conn.execute(sa.select(_ATT.c.id, _ATT.c.token))}
    _rewrite(conn, lambda v, *_: id_of.get(v, v) if isinstance(v, str) else v)
    op.drop_index("ix_mom_attachment_link_owner", "mom_attachment_link")
    op.drop_index("ix_mom_attachment_link_file", "mom_attachment_link")
    op.drop_table("mom_attachment_link")
    op.drop_index("uq_mom_attachment_token", "mom_attachment")
    with op.batch_alter_table("mom_attachment") as batch:
        batch.drop_column("token")


def _rewrite(conn: Any, swap: Callable[..., Any]) -> None:
    """Replace every stored file reference ``v`` by ``swap(v, kind, name, ref_id, field)``."""
    _forms(conn, swap)
    task = sa.table("mom_wf_task", sa.column("id"), sa.column("instance_id"), sa.column("attachments", sa.JSON))
    for tid, iid, vals in conn.execute(sa.select(task.c.id, task.c.instance_id, task.c.attachments)
                                       .where(task.c.attachments.is_not(None))).all():
        new = _swap_list(vals, lambda v: swap(v, "workflow", "", iid))
        if new != vals:
            conn.execute(task.update().where(task.c.id == tid).values(attachments=new))
    event = sa.table("mom_wf_event", sa.column("id"), sa.column("instance_id"), sa.column("data", sa.JSON))
    for eid, iid, data in conn.execute(sa.select(event.c.id, event.c.instance_id, event.c.data)
                                       .where(event.c.data.is_not(None))).all():
        if isinstance(data, dict) and isinstance(data.get("attachments"), list):
            new = _swap_list(data["attachments"], lambda v: swap(v, "workflow", "", iid))
            if new != data["attachments"]:
                conn.execute(event.update().where(event.c.id == eid).values(data={**data, "attachments": new}))
    note = sa.table("mom_notification", sa.column("id"), sa.column("user_id"), sa.column("kind"), sa.column("link"))
    run = sa.table("mom_report_run", sa.column("report"), sa.column("attachment_id"))
    report_of = {int(a): r for r, a in conn.execute(sa.select(run.c.report, run.c.attachment_id)
                                                    .where(run.c.attachment_id.is_not(None)))}
    for nid, uid, link in conn.execute(sa.select(note.c.id, note.c.user_id, note.c.link)
                                       .where(note.c.kind == "report", note.c.link.like(_PREFIX + "%"))).all():
        old = link[len(_PREFIX):]
        ref: Any = int(old) if old.isdigit() else old
        new = swap(ref, "report", report_of.get(ref, "") if isinstance(ref, int) else "", uid)
        if new != ref:
            conn.execute(note.update().where(note.c.id == nid).values(link=f"{_PREFIX}{new}"))


def _swap_list(vals: Any, one: Callable[[Any], Any]) -> Any:
    return [one(v) for v in vals] if isinstance(vals, list) else vals


def _forms(conn: Any, swap: Callable[..., Any]) -> None:
    """Attachment fields of every form's current version, main table and child tables."""
    from mom.engines.forms.compile import child_table_name   # at run time only: listing the revisions imports no engine

    form = sa.table("mom_form", sa.column("name"), sa.column("current_version"))
    version = sa.table("mom_form_version", sa.column("form_name"), sa.column("version"), sa.column("definition", sa.JSON))
    have = set(sa.inspect(conn).get_table_names())
    for name, current, raw in conn.execute(
            sa.select(form.c.name, form.c.current_version, version.c.definition)
            .join(version, sa.and_(version.c.form_name == form.c.name, version.c.version == form.c.current_version))).all():
        fields = raw.get("fields") or [] if isinstance(raw, dict) else []
        main = [f["key"] for f in fields if f.get("type") == "attachment"]
        if main and name in have:
            _table(conn, name, "parent", main, lambda v, rid, key: swap(v, "record", name, rid, key), parent=False)
        for t in fields:
            keys = [c["key"] for c in t.get("fields") or [] if c.get("type") == "attachment"] if t.get("type") == "table" else []
            child = child_table_name(name, t["key"]) if keys else None
            if child and child in have:
                _table(conn, child, "parent_id", keys,
                       lambda v, rid, key, tk=t["key"]: swap(v, "record", name, rid, f"{tk}.{key}"), parent=True)


def _table(conn: Any, table: str, parent_col: str, keys: list[str], one: Callable[[Any, Any, str], Any], *,
           parent: bool) -> None:
    cols = [sa.column(k, sa.JSON) for k in keys]
    t = sa.table(table, sa.column("id"), *([sa.column("parent_id")] if parent else []), *cols)
    owner = t.c.parent_id if parent else t.c.id
    for row in conn.execute(sa.select(t.c.id, owner.label("owner"), *cols).where(sa.or_(*[c.is_not(None) for c in cols]))).all():
        values = {}
        for k in keys:
            old = row._mapping[k]
            new = _swap_list(old, lambda v, k=k: one(v, row.owner, k))
            if new != old:
                values[k] = new
        if values:
            conn.execute(t.update().where(t.c.id == row.id).values(**values))
