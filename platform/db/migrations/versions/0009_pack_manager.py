"""the pack manager: installed packs with their state and source, what each pack owns, retired definitions

``mom_pack`` gains the pack's label, its dependencies, where it was installed from, its status
(``installed`` | ``uninstalled``), the file checksums it was installed with and when it was last
upgraded. ``mom_pack_item`` records each definition a pack installed (kind, name) with the definition
as the pack shipped it: the base of the three-way merge at the next upgrade. Forms and report /
dashboard / print definitions can be retired (hidden, data kept, restorable): ``retired_at`` (and,
for forms, ``retired_by_pack``).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

from mom.platform.db.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mom_pack") as batch:
        batch.add_column(sa.Column("label", sa.JSON, nullable=True))
        batch.add_column(sa.Column("depends", sa.JSON, nullable=True))
        batch.add_column(sa.Column("source", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="installed"))
        batch.add_column(sa.Column("checksums", sa.JSON, nullable=True))
        batch.add_column(sa.Column("upgraded_at", UTCDateTime, nullable=True))
    op.create_table(
        "mom_pack_item",
        sa.Column("pack", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("base", sa.JSON, nullable=False),
        sa.Column("base_hash", sa.String(64), nullable=False),
        sa.Column("pack_version", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("kind", "name", name="pk_mom_pack_item"),
    )
    op.create_index("ix_mom_pack_item_pack", "mom_pack_item", ["pack"])
    with op.batch_alter_table("mom_form") as batch:
        batch.add_column(sa.Column("retired_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("retired_by_pack", sa.String(64), nullable=True))
    with op.batch_alter_table("mom_definition") as batch:
        batch.add_column(sa.Column("retired_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mom_definition") as batch:
        batch.drop_column("retired_at")
    with op.batch_alter_table("mom_form") as batch:
        batch.drop_column("retired_by_pack")
        batch.drop_column("retired_at")
    op.drop_index("ix_mom_pack_item_pack", table_name="mom_pack_item")
    op.drop_table("mom_pack_item")
    with op.batch_alter_table("mom_pack") as batch:
        for c in ("upgraded_at", "checksums", "status", "source", "depends", "label"):
            batch.drop_column(c)
