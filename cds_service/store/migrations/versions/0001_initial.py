"""Card log, feedback (with snoozes) and seen JWT ids.

Revision ID: 0001
Revises:
Create Date: 2025-11-29
"""

from alembic import op
import sqlalchemy as sa

from cds_service.store.models import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "issued_card",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("card_uuid", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("hook", sa.String(100), nullable=False),
        sa.Column("hook_instance", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("suggestion_uuids", sa.JSON, nullable=False),
        sa.Column("issued_at", UtcDateTime, nullable=False),
        sa.Column("patient_ref", sa.String(64), nullable=False),
        sa.UniqueConstraint("card_uuid", name="uq_issued_card_uuid"),
    )
    op.create_index("ix_issued_card_issued_at", "issued_card", ["issued_at"])

    op.create_table(
        "feedback",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("card_uuid", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("outcome_timestamp", UtcDateTime, nullable=False),
        sa.Column("reason_system", sa.String(255), nullable=False),
        sa.Column("reason_code", sa.String(255), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("patient_ref", sa.String(64), nullable=False),
        sa.Column("snoozed_until", UtcDateTime, nullable=True),
        sa.UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", "reason_system", "reason_code",
                            name="uq_feedback_once"),
    )
    op.create_index("ix_feedback_snooze", "feedback", ["patient_ref", "topic", "snoozed_until"])
    op.create_index("ix_feedback_received_at", "feedback", ["received_at"])

    op.create_table(
        "seen_jti",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("iss", sa.Text, nullable=False),
        sa.Column("jti", sa.Text, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("iss", "jti", name="uq_seen_jti_iss_jti"),
    )
    op.create_index("ix_seen_jti_expires_at", "seen_jti", ["expires_at"])


def downgrade() -> None:
    op.drop_table("seen_jti")
    op.drop_table("feedback")
    op.drop_table("issued_card")
