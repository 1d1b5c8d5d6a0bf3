"""Running it in a hospital (design section 10): the card log says whether a card was shown, and
every call is counted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

A topic switched to silent is computed and logged, not returned; cards past [topics] max_cards are
logged as capped. Every card logged before this revision was shown. call_count keeps, per hour,
site, service and hook, the calls, the cards by topic and status, and a latency histogram.
"""

from alembic import op
import sqlalchemy as sa

from cds_service.store.models import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default=sa.text("'shown'")))
    # The default only fills the old rows: a new card says what became of it.
    with op.batch_alter_table("issued_card") as batch:
        batch.alter_column("status", server_default=None)
    op.create_table(
        "call_count",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("hour", UtcDateTime, nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("hook", sa.String(100), nullable=False),
        sa.Column("measure", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("hour", "issuer", "tenant", "service_id", "hook", "measure", "key",
                            name="uq_call_count"),
    )


def downgrade() -> None:
    op.drop_table("call_count")
    with op.batch_alter_table("issued_card") as batch:
        batch.drop_column("status")
