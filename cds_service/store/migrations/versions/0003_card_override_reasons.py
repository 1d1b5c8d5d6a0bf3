"""The card log records the override reasons each card offered, so feedback can be held to them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Feedback used to take any reason Coding, and the report printed its code as it came: terminal
escapes, or free text that could be a name and an MRN. From this revision on a reason must be one
the card offered. Cards logged before it did not record theirs: they get [], so an override of one
of them is taken only without a reason. Reasons already stored stay as they are; the report
escapes and shortens every code it prints.
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:
        batch.add_column(sa.Column("override_reasons", sa.JSON, nullable=False, server_default=sa.text("'[]'")))
    # The default only fills the old rows: a new card says what it offered.
    with op.batch_alter_table("issued_card") as batch:
        batch.alter_column("override_reasons", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:
        batch.drop_column("override_reasons")
