"""deploy-test expand step: a nullable column and its index, added while the application keeps serving

Revision ID: deploy_test_expand
Revises: @DOWN_REVISION@

Never part of the project's migrations: deploy/test/upgrade/app.Containerfile adds it to the image tag `upgrade`
of `make deploy-test` (down_revision = that image's head), which migrates only the test's throw-away database
with it. It follows the project's expand rule (docs/deployment.md, Upgrades without downtime): additive only, the
column nullable without a default (no table rewrite, old code never names it), the index built CONCURRENTLY (no
lock that blocks writes), and a short lock_timeout so the migration gives up instead of queueing the
application's queries behind a lock it waits for. PostgreSQL only, like the deployment.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "deploy_test_expand"
down_revision = "@DOWN_REVISION@"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET lock_timeout = '5s'")
    op.add_column("reports", sa.Column("deploy_test_expand", sa.Text(), nullable=True))
    with op.get_context().autocommit_block():
        op.create_index("ix_reports_deploy_test_expand", "reports", ["deploy_test_expand"],
                        postgresql_concurrently=True)


def downgrade() -> None:
    op.execute("SET lock_timeout = '5s'")
    with op.get_context().autocommit_block():
        op.drop_index("ix_reports_deploy_test_expand", table_name="reports", postgresql_concurrently=True)
    op.drop_column("reports", "deploy_test_expand")
