"""pre-aggregated reports: which summary table each report has and what it was built for

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

from mom.platform.db.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_report_summary",
        sa.Column("report", sa.String(64), primary_key=True),
        sa.Column("form", sa.String(64), nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("report_version", sa.Integer, nullable=False),
        sa.Column("form_version", sa.Integer, nullable=False),
        sa.Column("built_at", UTCDateTime, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_mom_report_summary_form", "mom_report_summary", ["form"])


def downgrade() -> None:
    op.drop_index("ix_mom_report_summary_form", "mom_report_summary")
    op.drop_table("mom_report_summary")
