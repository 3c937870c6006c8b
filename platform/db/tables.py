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
    sa.Column("deputy_user_id", sa.Integer, nullable=True),   # revision 0011: answers when the head is missing
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
    sa.Column("email", sa.String(200), nullable=True),      # revision 0002
    sa.Column("mobile", sa.String(32), nullable=True),
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
    # revision 0007: an API token's scopes (None: a sign-in session, the user's full rights) and the
    # token it was created with (revoking that one revokes this one too)
    sa.Column("scopes", sa.JSON, nullable=True),
    sa.Column("parent_id", sa.Integer, nullable=True),
    sa.Index("ix_mom_token_parent", "parent_id"),
    sa.Index("ix_mom_token_user", "user_id", "kind"),
)

# Failed sign-ins per user name (kind "user", also names that do not exist) and per client address
# (kind "address"), shared by every worker process (revision 0007).
login_throttle = sa.Table(
    "mom_login_throttle", metadata,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("first_failure_at", UTCDateTime, nullable=False),
    sa.Column("last_failure_at", UTCDateTime, nullable=False),
    sa.Column("blocked_until", UTCDateTime, nullable=True),
    sa.Column("locked_at", UTCDateTime, nullable=True),
    sa.Index("ix_mom_login_throttle_last", "last_failure_at"),
)

form = sa.Table(
    "mom_form", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("physical", sa.JSON, nullable=False),  # live tables/columns/indexes, incl. retired ones
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("listeners", sa.JSON, nullable=True),  # revision 0002: {"rules": n, "workflows": n} reacting to its records
    # revision 0009: a retired form (its pack uninstalled) is hidden, its tables and records kept; restorable
    sa.Column("retired_at", UTCDateTime, nullable=True),
    sa.Column("retired_by_pack", sa.String(64), nullable=True),
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
    # revision 0008: the public id (random, not guessable); the integer id stays internal
    sa.Column("token", sa.String(64), nullable=False),
    sa.Index("uq_mom_attachment_token", "token", unique=True),
)

# revision 0008: what a file belongs to, and so who may read it. kind "record": row ``ref_id`` of form
# ``name``, field ``field`` ("key" or "table.key"); "workflow": instance ``ref_id``; "report": a
# delivery of report ``name`` to user ``ref_id``. A file with no link is readable by its uploader only.
attachment_link = sa.Table(
    "mom_attachment_link", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("attachment_id", sa.Integer, sa.ForeignKey("mom_attachment.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(64), nullable=False, server_default=""),
    sa.Column("ref_id", sa.BigInteger, nullable=False),
    sa.Column("field", sa.String(130), nullable=False, server_default=""),
    sa.Index("ix_mom_attachment_link_file", "attachment_id"),
    sa.Index("ix_mom_attachment_link_owner", "kind", "name", "ref_id"),
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
    sa.Column("menu", sa.JSON, nullable=True),   # revision 0004: {label, forms, reports, dashboards} for the web app
    # revision 0009: the pack manager
    sa.Column("label", sa.JSON, nullable=True),              # {"zh-CN": …, "en": …}
    sa.Column("depends", sa.JSON, nullable=True),            # {"core": ">=1.0.0 <2.0.0"}
    sa.Column("source", sa.String(1000), nullable=True),     # the folder it was installed from
    sa.Column("status", sa.String(16), nullable=False, server_default="installed"),   # installed | uninstalled
    sa.Column("checksums", sa.JSON, nullable=True),          # {relative path: sha256} as installed
    sa.Column("upgraded_at", UTCDateTime, nullable=True),
)

# revision 0009: each definition a pack installed, with the definition as the pack shipped it (the base
# of the three-way merge at the next upgrade). kind: a pack step's key (forms, workflows, rules, reports,
# dashboards, prints, roles …); one owner per (kind, name).
pack_item = sa.Table(
    "mom_pack_item", metadata,
    sa.Column("pack", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("base", sa.JSON, nullable=False),
    sa.Column("base_hash", sa.String(64), nullable=False),
    sa.Column("pack_version", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("kind", "name", name="pk_mom_pack_item"),
    sa.Index("ix_mom_pack_item_pack", "pack"),
)

# ---------------------------------------------------------------- workflow engine (revision 0002)

workflow = sa.Table(
    "mom_workflow", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("form", sa.String(64), nullable=False, index=True),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

workflow_version = sa.Table(
    "mom_workflow_version", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.Column("published_by", sa.Integer, nullable=True),
    sa.UniqueConstraint("name", "version", name="uq_mom_workflow_version"),
)

wf_instance = sa.Table(
    "mom_wf_instance", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("workflow", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("form", sa.String(64), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running | returned | approved | rejected | withdrawn | cancelled
    sa.Column("initiator_id", sa.Integer, nullable=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("state", sa.JSON, nullable=False),         # tokens, joins, resume point
    sa.Column("row_version", sa.Integer, nullable=False),
    # revision 0010: 发起人自选 (chosen approvers per node), a sub-process's parent task, a revoke flow's target
    sa.Column("chosen", sa.JSON, nullable=True),
    sa.Column("parent_task_id", sa.BigInteger, nullable=True),
    sa.Column("revokes_id", sa.BigInteger, nullable=True),
    sa.Index("ix_mom_wf_instance_record", "form", "record_id"),
    sa.Index("ix_mom_wf_instance_initiator", "initiator_id", "status"),
)

wf_task = sa.Table(
    "mom_wf_task", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("instance_id", sa.BigInteger, sa.ForeignKey("mom_wf_instance.id", ondelete="CASCADE"), nullable=False),
    sa.Column("node_id", sa.String(64), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),         # activation count of the node in this instance
    sa.Column("kind", sa.String(16), nullable=False),       # approval | cc | delegate
    sa.Column("assignee_id", sa.Integer, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),     # waiting | pending | approved | rejected | returned |
    #                                                         transferred | delegated | cancelled | cc
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("added", sa.String(8), nullable=True),        # before | after (加签), else null
    sa.Column("parent_task_id", sa.BigInteger, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("acted_at", UTCDateTime, nullable=True),
    sa.Column("acted_by", sa.Integer, nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("attachments", sa.JSON, nullable=True),
    sa.Column("due_at", UTCDateTime, nullable=True),
    sa.Column("timeout_done", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("read_at", UTCDateTime, nullable=True),
    # revision 0010: 票签 weight (null = 1), the user a proxy/handover acts for, a handwritten signature's file id
    sa.Column("weight", sa.Integer, nullable=True),
    sa.Column("on_behalf_of", sa.Integer, nullable=True),
    sa.Column("signature", sa.String(64), nullable=True),
    sa.Index("ix_mom_wf_task_inbox", "assignee_id", "status"),
    sa.Index("ix_mom_wf_task_instance", "instance_id", "node_id", "round"),
    sa.Index("ix_mom_wf_task_due", "status", "due_at"),
)

# revision 0010: out-of-office proxies (代理人): a user's new tasks go to the proxy within the period
wf_proxy = sa.Table(
    "mom_wf_proxy", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("proxy_id", sa.Integer, nullable=False),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.Integer, nullable=True),
    sa.Index("ix_mom_wf_proxy_user", "user_id", "ends_at"),
)

wf_event = sa.Table(
    "mom_wf_event", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("instance_id", sa.BigInteger, sa.ForeignKey("mom_wf_instance.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor_id", sa.Integer, nullable=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("node_id", sa.String(64), nullable=True),
    sa.Column("task_id", sa.BigInteger, nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("data", sa.JSON, nullable=True),
    sa.Index("ix_mom_wf_event_instance", "instance_id"),
)

rule = sa.Table(
    "mom_rule", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("form", sa.String(64), nullable=True, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("next_run_at", UTCDateTime, nullable=True),  # schedule rules: the next due time
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

outbox = sa.Table(
    "mom_outbox", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("available_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),     # pending | done | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_by", sa.String(64), nullable=True),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("done_at", UTCDateTime, nullable=True),
    sa.Index("ix_mom_outbox_due", "status", "available_at"),
)

notification = sa.Table(
    "mom_notification", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("link", sa.String(500), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("read_at", UTCDateTime, nullable=True),
    sa.Index("ix_mom_notification_user", "user_id", "read_at"),
)

# ---------------------------------------------------------------- reports, dashboards, print templates (revision 0003)

definition = sa.Table(
    "mom_definition", metadata,
    sa.Column("kind", sa.String(16), primary_key=True),        # report | dashboard | print_template
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("source", sa.String(64), nullable=True, index=True),   # the form a report/template reads
    sa.Column("next_run_at", UTCDateTime, nullable=True),            # reports with schedules: the next due time
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("retired_at", UTCDateTime, nullable=True),   # revision 0009: retired with its pack; restorable
)

definition_version = sa.Table(
    "mom_definition_version", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.Column("published_by", sa.Integer, nullable=True),
    sa.UniqueConstraint("kind", "name", "version", name="uq_mom_definition_version"),
)

report_run = sa.Table(
    "mom_report_run", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("report", sa.String(64), nullable=False),
    sa.Column("schedule", sa.String(64), nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),             # done | failed
    sa.Column("rows", sa.Integer, nullable=True),
    sa.Column("attachment_id", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("report", "schedule", "due_at", name="uq_mom_report_run_due"),   # one run per firing
)

# ---------------------------------------------------------------- web app (revision 0005)
list_view = sa.Table(
    "mom_list_view", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("form", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("mom_user.id", ondelete="CASCADE"), nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),   # shown to everyone who may read the form
    sa.Column("spec", sa.JSON, nullable=False),          # {columns, filters, sort, quick} as the list page keeps them
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("form", "owner_id", "name", name="uq_mom_list_view"),
)


# revision 0006: the summary table of each pre-aggregated report and what it was built for
report_summary = sa.Table(
    "mom_report_summary", metadata,
    sa.Column("report", sa.String(64), primary_key=True),
    sa.Column("form", sa.String(64), nullable=False, index=True),
    sa.Column("table_name", sa.String(64), nullable=False),
    sa.Column("report_version", sa.Integer, nullable=False),
    sa.Column("form_version", sa.Integer, nullable=False),
    sa.Column("built_at", UTCDateTime, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False, server_default="0"),
)
