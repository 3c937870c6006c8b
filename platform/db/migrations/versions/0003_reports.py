"""reports, dashboards and print templates: definitions and versions; scheduled report runs

Revision ID: 0003
Revises: 0002

The tables below are a frozen copy of their definition at this revision.
"""
import sqlalchemy as sa
from alembic import op

from mom.platform.db.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

meta = sa.MetaData()

definition = sa.Table(
    "mom_definition", meta,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("source", sa.String(64), nullable=True, index=True),
    sa.Column("next_run_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

definition_version = sa.Table(
    "mom_definition_version", meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.Column("published_by", sa.Integer, nullable=True),
    sa.UniqueConstraint("kind", "name", "version", name="uq_mom_definition_version"),
)

report_run = sa.Table(
    "mom_report_run", meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("report", sa.String(64), nullable=False),
    sa.Column("schedule", sa.String(64), nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("rows", sa.Integer, nullable=True),
    sa.Column("attachment_id", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("report", "schedule", "due_at", name="uq_mom_report_run_due"),
)

TABLES = [definition, definition_version, report_run]


def upgrade() -> None:
    meta.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    meta.drop_all(op.get_bind(), tables=list(reversed(TABLES)))
