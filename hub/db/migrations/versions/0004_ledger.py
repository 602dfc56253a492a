"""ledger: account calendar states (blocked/deactivated, set next block date)

Revision ID: 0004_ledger
Revises: 0005_billsync
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0004_ledger'
down_revision = '0005_billsync'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accountconfig', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_block_date', sa.Date(), nullable=True))
    op.create_table('account_state_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('previous', sa.Enum('active', 'blocked', 'deactivated', name='accountstate'), nullable=False),
    sa.Column('state', sa.Enum('active', 'blocked', 'deactivated', name='accountstate'), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account_state_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_state_change_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_state_change_notified_at'), ['notified_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('account_state_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_state_change_notified_at'))
        batch_op.drop_index(batch_op.f('ix_account_state_change_organisation_id'))
    op.drop_table('account_state_change')
    sa.Enum(name='accountstate').drop(op.get_bind(), checkfirst=True)
    with op.batch_alter_table('accountconfig', schema=None) as batch_op:
        batch_op.drop_column('next_block_date')
        batch_op.drop_column('deactivated_at')
