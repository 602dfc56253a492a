"""tax-inclusive prices per organisation or product, recorded on each invoice

Revision ID: 0002_tax
Revises: 0002_admin
Create Date: 2026-12-03 12:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0002_tax'
down_revision = '0002_admin'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('product') as batch:
        batch.add_column(sa.Column('prices_include_tax', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table('organisation') as batch:
        batch.add_column(sa.Column('prices_include_tax', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table('invoice') as batch:
        batch.add_column(sa.Column('prices_include_tax', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('invoice') as batch:
        batch.drop_column('prices_include_tax')
    with op.batch_alter_table('organisation') as batch:
        batch.drop_column('prices_include_tax')
    with op.batch_alter_table('product') as batch:
        batch.drop_column('prices_include_tax')
