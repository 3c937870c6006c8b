"""platform tables: users, roles, departments, tokens, forms and versions, sequences, attachments, audit, packs

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from mom.platform.db.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_department",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("mom_department.id"), nullable=True),
        sa.Column("head_user_id", sa.Integer, nullable=True),
    )
    op.create_table(
        "mom_user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=True),
        sa.Column("department_id", sa.Integer, sa.ForeignKey("mom_department.id"), nullable=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "mom_role",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.JSON, nullable=True),
    )
    op.create_table(
        "mom_user_role",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("mom_user.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role_id", sa.Integer, sa.ForeignKey("mom_role.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_table(
        "mom_token",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("mom_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "mom_form",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("definition_hash", sa.String(64), nullable=False),
        sa.Column("physical", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "mom_form_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("form_name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("definition_hash", sa.String(64), nullable=False),
        sa.Column("plan", sa.JSON, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.Column("published_by", sa.Integer, nullable=True),
        sa.UniqueConstraint("form_name", "version", name="uq_mom_form_version"),
    )
    op.create_table(
        "mom_sequence",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("period", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "mom_attachment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.Integer, nullable=True),
    )
    op.create_table(
        "mom_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor_id", sa.Integer, nullable=True),
        sa.Column("form", sa.String(64), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("form_version", sa.Integer, nullable=True),
        sa.Column("changes", sa.JSON, nullable=True),
    )
    op.create_index("ix_mom_audit_record", "mom_audit", ["form", "record_id"])
    op.create_table(
        "mom_pack",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("manifest_hash", sa.String(64), nullable=False),
        sa.Column("installed_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for name in ("mom_pack", "mom_audit", "mom_attachment", "mom_sequence", "mom_form_version",
                 "mom_form", "mom_token", "mom_user_role", "mom_role", "mom_user", "mom_department"):
        op.drop_table(name)
