"""indexes on nullable reference columns (deleting drafts no longer scans their referrers)

Revision ID: 0007_reference_indexes
Revises: 0002_tax
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_reference_indexes'
down_revision = '0002_tax'
branch_labels = None
depends_on = None

#: (table, column) of each index; see hub.db.models._base.reference_index.
REFERENCES = [
    ('invoice', 'replaces_invoice_id'),
    ('invoice', 'converted_from_id'),
    ('billingcycle', 'invoice_id'),
    ('futureitem', 'remainder_of_id'),
    ('creditnoteline', 'invoice_line_id'),
    ('ticketcharge', 'invoice_line_id'),
]


def upgrade() -> None:
    for table, column in REFERENCES:
        condition = sa.text(f'{column} IS NOT NULL')
        op.create_index(f'ix_{table}_{column}', table, [column], unique=False,
                        sqlite_where=condition, postgresql_where=condition)


def downgrade() -> None:
    for table, column in REFERENCES:
        op.drop_index(f'ix_{table}_{column}', table_name=table)
