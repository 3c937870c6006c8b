"""department heads: a deputy beside the head (issue 20 item 4)

``mom_department`` gains ``deputy_user_id``: who answers a department-head approval when the head is
not set or is disabled. Heads and deputies are set through the API, ``mom dept`` and the admin screen.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mom_department") as batch:
        batch.add_column(sa.Column("deputy_user_id", sa.Integer, nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of mom_department would drop the
    # table its users point at, which SQLite refuses while foreign keys are enforced
    op.execute("ALTER TABLE mom_department DROP COLUMN deputy_user_id")
