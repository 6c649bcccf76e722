"""licensing: contracts, licenses, acts, documents, upload requests, support certificates

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 17:42:55.135178
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("contract_date", sa.Date(), nullable=False),
        sa.Column("licensee_inn", sa.String(length=32), nullable=False),
        sa.Column("licensee_kpp", sa.String(length=9), nullable=True),
        sa.Column("licensee_name", sa.String(length=500), nullable=False),
        sa.Column("licensee_email", sa.String(length=254), nullable=False),
        sa.Column("end_user_email", sa.String(length=254), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("partner_id", sa.Uuid(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("number", name=op.f("uq_contracts_number")),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_contracts_licensee_inn"),
        "contracts",
        ["licensee_inn"],
        unique=False,
        schema="licensing",
    )
    op.create_index(
        op.f("ix_contracts_organization_id"),
        "contracts",
        ["organization_id"],
        unique=False,
        schema="licensing",
    )
    op.create_index(
        op.f("ix_contracts_partner_id"),
        "contracts",
        ["partner_id"],
        unique=False,
        schema="licensing",
    )
    op.create_table(
        "upload_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("numbers", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("terms_version", sa.String(length=32), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_upload_requests_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_requests")),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_upload_requests_organization_id"),
        "upload_requests",
        ["organization_id"],
        unique=False,
        schema="licensing",
    )
    op.create_index(
        op.f("ix_upload_requests_status"),
        "upload_requests",
        ["status"],
        unique=False,
        schema="licensing",
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        schema="licensing",
    )
    op.create_table(
        "acts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("act_date", sa.Date(), nullable=False),
        sa.Column("issued_by", sa.String(length=10), nullable=False),
        sa.Column("total", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.CheckConstraint(
            "issued_by IN ('vendor', 'partner')", name=op.f("ck_acts_issued_by_known")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["licensing.contracts.id"], name=op.f("fk_acts_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acts")),
        sa.UniqueConstraint("number", name=op.f("uq_acts_number")),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_acts_contract_id"), "acts", ["contract_id"], unique=False, schema="licensing"
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["licensing.contracts.id"],
            name=op.f("fk_documents_contract_id_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_documents_contract_id"),
        "documents",
        ["contract_id"],
        unique=False,
        schema="licensing",
    )
    op.create_table(
        "licenses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("partner_id", sa.Uuid(), nullable=True),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("edition", sa.String(length=100), nullable=True),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("activation_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("starts_at", sa.Date(), nullable=False),
        sa.Column("expires_at", sa.Date(), nullable=True),
        sa.Column("key_serial", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lapsed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'expired', 'revoked')",
            name=op.f("ck_licenses_status_known"),
        ),
        sa.CheckConstraint("seats >= 1", name=op.f("ck_licenses_seats_positive")),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["licensing.contracts.id"],
            name=op.f("fk_licenses_contract_id_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["licensing.products.id"], name=op.f("fk_licenses_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses")),
        sa.UniqueConstraint("activation_code", name=op.f("uq_licenses_activation_code")),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_licenses_contract_id"),
        "licenses",
        ["contract_id"],
        unique=False,
        schema="licensing",
    )
    op.create_index(
        op.f("ix_licenses_expires_at"), "licenses", ["expires_at"], unique=False, schema="licensing"
    )
    op.create_index(
        op.f("ix_licenses_key_serial"), "licenses", ["key_serial"], unique=False, schema="licensing"
    )
    op.create_index(
        op.f("ix_licenses_organization_id"),
        "licenses",
        ["organization_id"],
        unique=False,
        schema="licensing",
    )
    op.create_index(
        op.f("ix_licenses_partner_id"), "licenses", ["partner_id"], unique=False, schema="licensing"
    )
    op.create_table(
        "act_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("act_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.CheckConstraint(
            "quantity >= 1 AND amount >= 0", name=op.f("ck_act_items_quantity_and_amount")
        ),
        sa.ForeignKeyConstraint(
            ["act_id"],
            ["licensing.acts.id"],
            name=op.f("fk_act_items_act_id_acts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_act_items")),
        sa.UniqueConstraint("act_id", "position", name=op.f("uq_act_items_act_id_position")),
        schema="licensing",
    )
    op.create_table(
        "support_certificates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("organization_inn", sa.String(length=32), nullable=True),
        sa.Column("products", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("key_serials", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("license_id", sa.Uuid(), nullable=True),
        sa.Column("partner_id", sa.Uuid(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'ended')", name=op.f("ck_support_certificates_status_known")
        ),
        sa.CheckConstraint(
            "tier IN ('free', 'paid', 'partner')", name=op.f("ck_support_certificates_tier_known")
        ),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_support_certificates_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licensing.licenses.id"],
            name=op.f("fk_support_certificates_license_id_licenses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_certificates")),
        sa.UniqueConstraint("license_id", name=op.f("uq_support_certificates_license_id")),
        sa.UniqueConstraint("number", name=op.f("uq_support_certificates_number")),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_support_certificates_ends_at"),
        "support_certificates",
        ["ends_at"],
        unique=False,
        schema="licensing",
    )
    op.create_index(
        op.f("ix_support_certificates_organization_id"),
        "support_certificates",
        ["organization_id"],
        unique=False,
        schema="licensing",
    )
    op.create_table(
        "act_renewals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("act_id", sa.Uuid(), nullable=False),
        sa.Column("certificate_id", sa.Uuid(), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["act_id"], ["licensing.acts.id"], name=op.f("fk_act_renewals_act_id_acts")
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["licensing.support_certificates.id"],
            name=op.f("fk_act_renewals_certificate_id_support_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_act_renewals")),
        sa.UniqueConstraint("act_id", name=op.f("uq_act_renewals_act_id")),
        schema="licensing",
    )


def downgrade() -> None:
    op.drop_table("act_renewals", schema="licensing")
    op.drop_index(
        op.f("ix_support_certificates_organization_id"),
        table_name="support_certificates",
        schema="licensing",
    )
    op.drop_index(
        op.f("ix_support_certificates_ends_at"),
        table_name="support_certificates",
        schema="licensing",
    )
    op.drop_table("support_certificates", schema="licensing")
    op.drop_table("act_items", schema="licensing")
    op.drop_index(op.f("ix_licenses_partner_id"), table_name="licenses", schema="licensing")
    op.drop_index(op.f("ix_licenses_organization_id"), table_name="licenses", schema="licensing")
    op.drop_index(op.f("ix_licenses_key_serial"), table_name="licenses", schema="licensing")
    op.drop_index(op.f("ix_licenses_expires_at"), table_name="licenses", schema="licensing")
    op.drop_index(op.f("ix_licenses_contract_id"), table_name="licenses", schema="licensing")
    op.drop_table("licenses", schema="licensing")
    op.drop_index(op.f("ix_documents_contract_id"), table_name="documents", schema="licensing")
    op.drop_table("documents", schema="licensing")
    op.drop_index(op.f("ix_acts_contract_id"), table_name="acts", schema="licensing")
    op.drop_table("acts", schema="licensing")
    op.drop_table("users", schema="licensing")
    op.drop_index(
        op.f("ix_upload_requests_status"), table_name="upload_requests", schema="licensing"
    )
    op.drop_index(
        op.f("ix_upload_requests_organization_id"), table_name="upload_requests", schema="licensing"
    )
    op.drop_table("upload_requests", schema="licensing")
    op.drop_index(op.f("ix_contracts_partner_id"), table_name="contracts", schema="licensing")
    op.drop_index(op.f("ix_contracts_organization_id"), table_name="contracts", schema="licensing")
    op.drop_index(op.f("ix_contracts_licensee_inn"), table_name="contracts", schema="licensing")
    op.drop_table("contracts", schema="licensing")
