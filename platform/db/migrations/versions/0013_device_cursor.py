"""device data bookkeeping (issue 23): the per-device cursor for exactly-once and the unknown devices seen

``mom_device_cursor``: per machine and message stream (a device mapping, or the stream part of a message
key) the last sequence applied and the last raw counter values, committed in the same transaction as the
states and counts they produced, so a redelivered or replayed message is recognised and a counter's delta
is taken from the right base. ``mom_device_unknown``: a machine code (or topic) that no machine matches,
recorded once (the first time; later messages only raise its count per flush). Neither holds records.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

from mom.platform.db.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_device_cursor",
        sa.Column("machine_id", sa.Integer, primary_key=True),
        sa.Column("stream", sa.String(200), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=True),
        sa.Column("total", sa.Numeric(24, 6), nullable=True),
        sa.Column("good", sa.Numeric(24, 6), nullable=True),
        sa.Column("scrap", sa.Numeric(24, 6), nullable=True),
        sa.Column("last_at", UTCDateTime, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "mom_device_unknown",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("topic", sa.String(500), nullable=True),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.Column("messages", sa.BigInteger, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("mom_device_unknown")
    op.drop_table("mom_device_cursor")
