"""licensing: products and the price list versioned by effective date

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:32:53.204093
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_list_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_list_versions")),
        sa.UniqueConstraint("effective_from", name=op.f("uq_price_list_versions_effective_from")),
        schema="licensing",
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("protection_kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "protection_kind IN ('codemeter', 'software', 'none')",
            name=op.f("ck_products_protection_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("code", name=op.f("uq_products_code")),
        schema="licensing",
    )
    op.create_table(
        "price_list_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("resident_price", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("non_resident_price", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.CheckConstraint(
            "resident_price >= 0 AND non_resident_price >= 0",
            name=op.f("ck_price_list_items_prices_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["licensing.products.id"],
            name=op.f("fk_price_list_items_product_id_products"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["licensing.price_list_versions.id"],
            name=op.f("fk_price_list_items_version_id_price_list_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_list_items")),
        sa.UniqueConstraint("version_id", "code", name=op.f("uq_price_list_items_version_id_code")),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_price_list_items_product_id"),
        "price_list_items",
        ["product_id"],
        unique=False,
        schema="licensing",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_price_list_items_product_id"), table_name="price_list_items", schema="licensing"
    )
    op.drop_table("price_list_items", schema="licensing")
    op.drop_table("products", schema="licensing")
    op.drop_table("price_list_versions", schema="licensing")
