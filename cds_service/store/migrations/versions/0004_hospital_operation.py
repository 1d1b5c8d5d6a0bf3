"""Running it in a hospital (design section 10): the card log says whether a card was shown.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

A topic switched to silent is computed and logged, not returned; cards past [topics] max_cards are
logged as capped. Every card logged before this revision was shown.
"""

from alembic import op
import sqlalchemy as sa

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


def downgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:
        batch.drop_column("status")
