"""workflow engine: workflows and versions, instances, tasks, timeline, rules, outbox, notifications;
user e-mail and mobile; form listener flags

Revision ID: 0002
Revises: 0001

The tables below are a frozen copy of their definition at this revision (later changes get their own
revision), created on the migration's connection.
"""
import sqlalchemy as sa
from alembic import op

from mom.platform.db.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

meta = sa.MetaData()


workflow = sa.Table(
    "mom_workflow", meta,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("form", sa.String(64), nullable=False, index=True),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

workflow_version = sa.Table(
    "mom_workflow_version", meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.Column("published_by", sa.Integer, nullable=True),
    sa.UniqueConstraint("name", "version", name="uq_mom_workflow_version"),
)

wf_instance = sa.Table(
    "mom_wf_instance", meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("workflow", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("form", sa.String(64), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running | returned | approved | rejected | withdrawn | cancelled
    sa.Column("initiator_id", sa.Integer, nullable=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("state", sa.JSON, nullable=False),         # tokens, joins, resume point
    sa.Column("row_version", sa.Integer, nullable=False),
    sa.Index("ix_mom_wf_instance_record", "form", "record_id"),
    sa.Index("ix_mom_wf_instance_initiator", "initiator_id", "status"),
)

wf_task = sa.Table(
    "mom_wf_task", meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("instance_id", sa.BigInteger, sa.ForeignKey("mom_wf_instance.id", ondelete="CASCADE"), nullable=False),
    sa.Column("node_id", sa.String(64), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),         # activation count of the node in this instance
    sa.Column("kind", sa.String(16), nullable=False),       # approval | cc | delegate
    sa.Column("assignee_id", sa.Integer, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),     # waiting | pending | approved | rejected | returned |
    #                                                         transferred | delegated | cancelled | cc
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("added", sa.String(8), nullable=True),        # before | after (加签), else null
    sa.Column("parent_task_id", sa.BigInteger, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("acted_at", UTCDateTime, nullable=True),
    sa.Column("acted_by", sa.Integer, nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("attachments", sa.JSON, nullable=True),
    sa.Column("due_at", UTCDateTime, nullable=True),
    sa.Column("timeout_done", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("read_at", UTCDateTime, nullable=True),
    sa.Index("ix_mom_wf_task_inbox", "assignee_id", "status"),
    sa.Index("ix_mom_wf_task_instance", "instance_id", "node_id", "round"),
    sa.Index("ix_mom_wf_task_due", "status", "due_at"),
)

wf_event = sa.Table(
    "mom_wf_event", meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("instance_id", sa.BigInteger, sa.ForeignKey("mom_wf_instance.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor_id", sa.Integer, nullable=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("node_id", sa.String(64), nullable=True),
    sa.Column("task_id", sa.BigInteger, nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("data", sa.JSON, nullable=True),
    sa.Index("ix_mom_wf_event_instance", "instance_id"),
)

rule = sa.Table(
    "mom_rule", meta,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("form", sa.String(64), nullable=True, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("next_run_at", UTCDateTime, nullable=True),  # schedule rules: the next due time
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

outbox = sa.Table(
    "mom_outbox", meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("available_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),     # pending | done | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_by", sa.String(64), nullable=True),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("done_at", UTCDateTime, nullable=True),
    sa.Index("ix_mom_outbox_due", "status", "available_at"),
)

notification = sa.Table(
    "mom_notification", meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("link", sa.String(500), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("read_at", UTCDateTime, nullable=True),
    sa.Index("ix_mom_notification_user", "user_id", "read_at"),
)


TABLES = [workflow, workflow_version, wf_instance, wf_task, wf_event, rule, outbox, notification]


def upgrade() -> None:
    meta.create_all(op.get_bind(), tables=TABLES)
    with op.batch_alter_table("mom_user") as batch:
        batch.add_column(sa.Column("email", sa.String(200), nullable=True))
        batch.add_column(sa.Column("mobile", sa.String(32), nullable=True))
    with op.batch_alter_table("mom_form") as batch:
        batch.add_column(sa.Column("listeners", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mom_form") as batch:
        batch.drop_column("listeners")
    with op.batch_alter_table("mom_user") as batch:
        batch.drop_column("mobile")
        batch.drop_column("email")
    meta.drop_all(op.get_bind(), tables=list(reversed(TABLES)))
