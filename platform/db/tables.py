"""The platform's own tables (managed by alembic; see platform/db/migrations).

Runtime tables made from form definitions are NOT here: they are compiled by
``mom.engines.forms.compile`` and migrated by plans.
"""
from __future__ import annotations

import sqlalchemy as sa

from mom.platform.db.types import UTCDateTime

metadata = sa.MetaData()

department = sa.Table(
    "mom_department", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("mom_department.id"), nullable=True),
    sa.Column("head_user_id", sa.Integer, nullable=True),
)

user = sa.Table(
    "mom_user", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(300), nullable=True),
    sa.Column("department_id", sa.Integer, sa.ForeignKey("mom_department.id"), nullable=True),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

role = sa.Table(
    "mom_role", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("label", sa.JSON, nullable=True),
)

user_role = sa.Table(
    "mom_user_role", metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("mom_user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role_id", sa.Integer, sa.ForeignKey("mom_role.id", ondelete="CASCADE"), primary_key=True),
)

token = sa.Table(
    "mom_token", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("mom_user.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # session | api
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

form = sa.Table(
    "mom_form", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("physical", sa.JSON, nullable=False),  # live tables/columns/indexes, incl. retired ones
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

form_version = sa.Table(
    "mom_form_version", metadata,
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

sequence = sa.Table(
    "mom_sequence", metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("period", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

attachment = sa.Table(
    "mom_attachment", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.Integer, nullable=True),
)

audit = sa.Table(
    "mom_audit", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor_id", sa.Integer, nullable=True),
    sa.Column("form", sa.String(64), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("form_version", sa.Integer, nullable=True),
    sa.Column("changes", sa.JSON, nullable=True),
    sa.Index("ix_mom_audit_record", "form", "record_id"),
)

pack = sa.Table(
    "mom_pack", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("manifest_hash", sa.String(64), nullable=False),
    sa.Column("installed_at", UTCDateTime, nullable=False),
)
