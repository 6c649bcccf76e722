"""licensing: invoices, invoice lines, payments and invoices awaiting their organization

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 18:50:38.927419
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "awaited_invoices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("reference_service", sa.String(length=20), nullable=False),
        sa.Column("reference_kind", sa.String(length=64), nullable=False),
        sa.Column("reference_id", sa.Uuid(), nullable=False),
        sa.Column("price_codes", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awaited_invoices")),
        sa.UniqueConstraint(
            "reference_service",
            "reference_kind",
            "reference_id",
            name=op.f("uq_awaited_invoices_reference_service_reference_kind_reference_id"),
        ),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_awaited_invoices_organization_id"),
        "awaited_invoices",
        ["organization_id"],
        unique=False,
        schema="licensing",
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("reference_service", sa.String(length=20), nullable=True),
        sa.Column("reference_kind", sa.String(length=64), nullable=True),
        sa.Column("reference_id", sa.Uuid(), nullable=True),
        sa.Column("resident", sa.Boolean(), nullable=False),
        sa.Column("price_list_effective_on", sa.Date(), nullable=False),
        sa.Column("total", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('issued', 'paid')", name=op.f("ck_invoices_status_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint(
            "reference_service",
            "reference_kind",
            "reference_id",
            name=op.f("uq_invoices_reference_service_reference_kind_reference_id"),
        ),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_invoices_organization_id"),
        "invoices",
        ["organization_id"],
        unique=False,
        schema="licensing",
    )
    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("price_code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["licensing.invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint(
            "invoice_id", "position", name=op.f("uq_invoice_lines_invoice_id_position")
        ),
        schema="licensing",
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document_number", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["licensing.invoices.id"], name=op.f("fk_payments_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint(
            "invoice_id", "document_number", name=op.f("uq_payments_invoice_id_document_number")
        ),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_payments_invoice_id"), "payments", ["invoice_id"], unique=False, schema="licensing"
    )
    op.create_index(
        op.f("ix_payments_organization_id"),
        "payments",
        ["organization_id"],
        unique=False,
        schema="licensing",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_payments_organization_id"), table_name="payments", schema="licensing")
    op.drop_index(op.f("ix_payments_invoice_id"), table_name="payments", schema="licensing")
    op.drop_table("payments", schema="licensing")
    op.drop_table("invoice_lines", schema="licensing")
    op.drop_index(op.f("ix_invoices_organization_id"), table_name="invoices", schema="licensing")
    op.drop_table("invoices", schema="licensing")
    op.drop_index(
        op.f("ix_awaited_invoices_organization_id"),
        table_name="awaited_invoices",
        schema="licensing",
    )
    op.drop_table("awaited_invoices", schema="licensing")
