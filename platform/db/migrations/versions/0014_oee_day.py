"""OEE day summaries (issue 23): per machine × closed plant day what the OEE time model sums, and the marks that
keep a summary computed from a snapshot from outliving late data (engines/devices/machine_days.py,
engines/oee/summary.py). A derived cache, not records: dropping every row only makes the next OEE question
over a long period as slow as reading the rows again.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_oee_day",
        sa.Column("machine_id", sa.Integer, primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("start_s", sa.BigInteger, nullable=False),
        sa.Column("end_s", sa.BigInteger, nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("v", sa.Integer, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("computed_s", sa.Float, nullable=False),
    )
    op.create_table(
        "mom_oee_mark",
        sa.Column("machine_id", sa.Integer, primary_key=True),
        sa.Column("changed_s", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mom_oee_mark")
    op.drop_table("mom_oee_day")
