"""idempotency keys of the REST API's money-recording requests and the answers they got

A client that sends ``POST /payments`` (or a refund, a credit note, mark-paid ...) with an
``Idempotency-Key`` header and loses the answer may send it again: the stored answer is given
back instead of recording the money twice (``hub.web.idempotency``). The key is unique, so two
requests with one key at once cannot both do the work.

Revision ID: 0010_idempotency_keys
Revises: 0009_ids_not_reused
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0010_idempotency_keys'
down_revision = '0009_ids_not_reused'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('token_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_idempotency_key_key')
    )
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        # Forgetting keys older than a day deletes by age: keep that a range scan.
        batch_op.create_index(batch_op.f('ix_idempotency_key_created_at'), ['created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_key_created_at'))
    op.drop_table('idempotency_key')
