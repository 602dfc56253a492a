"""counters and process heartbeats (metrics, hub status)

Revision ID: 0006_prod
Revises: 0004_ledger
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0006_prod'
down_revision = '0004_ledger'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hub_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('labels', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'labels', name='uq_hub_counter_series')
    )
    op.create_table('process_heartbeat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('host', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('process', name='uq_process_heartbeat_process')
    )
    with op.batch_alter_table('process_heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_heartbeat_kind'), ['kind'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('process_heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_heartbeat_kind'))
    op.drop_table('process_heartbeat')
    op.drop_table('hub_counter')
