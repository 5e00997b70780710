"""holds.token: confirmation of spending by an unauthenticated sender (P8)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_holds_token"), ["token"])


def downgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_holds_token"), type_="unique")
        batch_op.drop_column("token")
