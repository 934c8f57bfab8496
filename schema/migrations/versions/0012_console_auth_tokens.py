"""console auth tokens: remote consoles' one-time tokens, stored hashed

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-02 10:00:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_auth_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('console_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('host', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('port', sa.Integer(), nullable=False),
        sa.Column('internal_access_path', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('instance_uuid', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('expires', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('console_auth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_auth_tokens_token_hash'), ['token_hash'],
                              unique=True)
        batch_op.create_index(batch_op.f('ix_console_auth_tokens_instance_uuid'),
                              ['instance_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_auth_tokens_expires'), ['expires'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('console_auth_tokens')
