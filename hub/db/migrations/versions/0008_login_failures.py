"""failed logins per client address, shared by every web process

Revision ID: 0008_login_failures
Revises: 0007_reference_indexes
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0008_login_failures'
down_revision = '0007_reference_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index('ix_login_failure_client_at', ['client', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failure_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failure_at'))
        batch_op.drop_index('ix_login_failure_client_at')
    op.drop_table('login_failure')
