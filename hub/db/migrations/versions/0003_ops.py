"""operable day to day: batches name what they left out and know when they were filled;
API tokens expire and have a scope

Revision ID: 0003_ops
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0003_ops'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('billingbatch') as batch:
        batch.add_column(sa.Column('left_out', sa.JSON(), nullable=False,
                                   server_default=sa.text("'[]'")))
        batch.add_column(sa.Column('filled_at', sa.DateTime(timezone=True), nullable=True))
    # Batches made before this revision were filled when they were created.
    op.execute("UPDATE billingbatch SET filled_at = created_at")
    with op.batch_alter_table('billingbatch') as batch:
        batch.alter_column('left_out', server_default=None)
    with op.batch_alter_table('api_token') as batch:
        batch.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('scope', sa.String(length=16), nullable=False,
                                   server_default='full'))
    with op.batch_alter_table('api_token') as batch:
        batch.alter_column('scope', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('api_token') as batch:
        batch.drop_column('scope')
        batch.drop_column('expires_at')
    with op.batch_alter_table('billingbatch') as batch:
        batch.drop_column('filled_at')
        batch.drop_column('left_out')
