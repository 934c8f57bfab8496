"""server tags, flavor access, server passwords, quota classes

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02 09:50:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0006'
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'instance_tags',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_uuid', _STR(), nullable=False),
        sa.Column('tag', _STR(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('instance_uuid', 'tag'))
    op.create_index(op.f('ix_instance_tags_instance_uuid'), 'instance_tags',
                    ['instance_uuid'], unique=False)
    op.create_index(op.f('ix_instance_tags_tag'), 'instance_tags', ['tag'], unique=False)
    op.create_table(
        'flavor_projects',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('flavorid', _STR(), nullable=False),
        sa.Column('project_id', _STR(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('flavorid', 'project_id'))
    op.create_index(op.f('ix_flavor_projects_flavorid'), 'flavor_projects', ['flavorid'],
                    unique=False)
    op.create_index(op.f('ix_flavor_projects_project_id'), 'flavor_projects',
                    ['project_id'], unique=False)
    op.create_table(
        'instance_passwords',
        sa.Column('instance_uuid', _STR(), nullable=False),
        sa.Column('password', _STR(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('instance_uuid'))
    op.create_table(
        'quota_classes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('class_name', _STR(), nullable=False),
        sa.Column('resource', _STR(), nullable=False),
        sa.Column('hard_limit', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('class_name', 'resource'))
    op.create_index(op.f('ix_quota_classes_class_name'), 'quota_classes', ['class_name'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_quota_classes_class_name'), table_name='quota_classes')
    op.drop_table('quota_classes')
    op.drop_table('instance_passwords')
    op.drop_index(op.f('ix_flavor_projects_project_id'), table_name='flavor_projects')
    op.drop_index(op.f('ix_flavor_projects_flavorid'), table_name='flavor_projects')
    op.drop_table('flavor_projects')
    op.drop_index(op.f('ix_instance_tags_tag'), table_name='instance_tags')
    op.drop_index(op.f('ix_instance_tags_instance_uuid'), table_name='instance_tags')
    op.drop_table('instance_tags')
