"""login throttling and API token expiry/scopes

Revision ID: 0007
Revises: 0006

API tokens made before this revision never expired and could do everything the user could: they
keep ``read`` and ``write`` (not ``tokens:write``: they can no longer mint tokens) and now expire
90 days after the upgrade.
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

from mom.platform.db.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LEGACY_API_TOKEN_DAYS = 90


def upgrade() -> None:
    op.add_column("mom_token", sa.Column("scopes", sa.JSON, nullable=True))
    op.add_column("mom_token", sa.Column("parent_id", sa.Integer, nullable=True))
    op.create_index("ix_mom_token_parent", "mom_token", ["parent_id"])
    op.create_index("ix_mom_token_user", "mom_token", ["user_id", "kind"])
    token = sa.table("mom_token", sa.column("kind", sa.String), sa.column("scopes", sa.JSON),
                     sa.column("expires_at", UTCDateTime))
    op.execute(token.update().where(token.c.kind == "api").values(scopes=["read", "write"]))
    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=LEGACY_API_TOKEN_DAYS)
    op.execute(token.update().where(token.c.kind == "api", token.c.expires_at.is_(None)).values(expires_at=expiry))
    op.create_table(
        "mom_login_throttle",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("first_failure_at", UTCDateTime, nullable=False),
        sa.Column("last_failure_at", UTCDateTime, nullable=False),
        sa.Column("blocked_until", UTCDateTime, nullable=True),
        sa.Column("locked_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_mom_login_throttle_last", "mom_login_throttle", ["last_failure_at"])


def downgrade() -> None:
    op.drop_index("ix_mom_login_throttle_last", "mom_login_throttle")
    op.drop_table("mom_login_throttle")
    op.drop_index("ix_mom_token_user", "mom_token")
    op.drop_index("ix_mom_token_parent", "mom_token")
    with op.batch_alter_table("mom_token") as batch:
        batch.drop_column("parent_id")
        batch.drop_column("scopes")
