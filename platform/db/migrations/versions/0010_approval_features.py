"""approval features Chinese plants expect (issue 20 item 10)

``mom_wf_task`` gains ``weight`` (票签 weight of the approver; null = 1), ``on_behalf_of`` (the user a
proxy or a handover acts for: shown as "代 X 审批") and ``signature`` (the file id of a handwritten
signature stored with the decision). ``mom_wf_instance`` gains ``chosen`` (发起人自选: the approvers
the initiator chose per node, user ids), ``parent_task_id`` (a sub-process: the parent's waiting task)
and ``revokes_id`` (a revoke flow: the approved instance it revokes). ``mom_wf_proxy``: out-of-office
proxies (a user's new tasks go to the proxy between ``starts_at`` and ``ends_at``).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

from mom.platform.db.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mom_wf_task") as batch:
        batch.add_column(sa.Column("weight", sa.Integer, nullable=True))
        batch.add_column(sa.Column("on_behalf_of", sa.Integer, nullable=True))
        batch.add_column(sa.Column("signature", sa.String(64), nullable=True))
    with op.batch_alter_table("mom_wf_instance") as batch:
        batch.add_column(sa.Column("chosen", sa.JSON, nullable=True))
        batch.add_column(sa.Column("parent_task_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("revokes_id", sa.BigInteger, nullable=True))
    op.create_table(
        "mom_wf_proxy",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("proxy_id", sa.Integer, nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.Integer, nullable=True),
    )
    op.create_index("ix_mom_wf_proxy_user", "mom_wf_proxy", ["user_id", "ends_at"])


def downgrade() -> None:
    op.drop_index("ix_mom_wf_proxy_user", table_name="mom_wf_proxy")
    op.drop_table("mom_wf_proxy")
    # plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35 too): a batch copy of the table on SQLite would drop
    # and re-create mom_wf_instance, and its events and tasks would go with it (ON DELETE CASCADE)
    for table, cols in (("mom_wf_instance", ("revokes_id", "parent_task_id", "chosen")),
                        ("mom_wf_task", ("signature", "on_behalf_of", "weight"))):
        for c in cols:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {c}")
