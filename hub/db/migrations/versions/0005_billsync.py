"""invoice groups may combine their agreements into one invoice per period (#19)

Revision ID: 0005_billsync
Revises: 0003_ops
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_billsync'
down_revision = '0003_ops'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoicegroup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('combine', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('invoicegroup', schema=None) as batch_op:
        batch_op.drop_column('combine')
