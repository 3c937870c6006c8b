"""installed packs remember their menu (label, forms, reports, dashboards) for the web app

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mom_pack") as b:
        b.add_column(sa.Column("menu", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mom_pack") as b:
        b.drop_column("menu")
