"""saved list views on the server (per user, or shared by a form's designers), not per browser

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from mom.platform.db.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_list_view",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("form", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("mom_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("form", "owner_id", "name", name="uq_mom_list_view"),
    )
    op.create_index("ix_mom_list_view_form", "mom_list_view", ["form"])


def downgrade() -> None:
    op.drop_index("ix_mom_list_view_form", "mom_list_view")
    op.drop_table("mom_list_view")
