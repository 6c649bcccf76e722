"""organizations, users, codes, tokens, keys, directories

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:00:47.331172
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.schema.CreateSequence(
            sa.Sequence("customer_number_seq", start=100001, schema="identity")
        )
    )
    op.create_table(
        "banks",
        sa.Column("bik", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("correspondent_account", sa.String(length=20), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("locality", sa.String(length=200), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bik", name=op.f("pk_banks")),
        schema="identity",
    )
    op.create_table(
        "one_time_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_codes")),
        schema="identity",
    )
    op.create_index(
        "ix_one_time_codes_subject",
        "one_time_codes",
        ["purpose", "subject"],
        unique=False,
        schema="identity",
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "customer_number",
            sa.BigInteger(),
            server_default=sa.text("nextval('identity.customer_number_seq')"),
            nullable=False,
        ),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("resident", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("legal_form", sa.String(length=60), nullable=False),
        sa.Column("full_name", sa.String(length=500), nullable=False),
        sa.Column("short_name", sa.String(length=300), nullable=True),
        sa.Column("inn", sa.String(length=12), nullable=True),
        sa.Column("kpp", sa.String(length=9), nullable=True),
        sa.Column("tax_id", sa.String(length=40), nullable=True),
        sa.Column("subdivision", sa.String(length=300), nullable=True),
        sa.Column("requisites", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("customer_number", name=op.f("uq_organizations_customer_number")),
        schema="identity",
    )
    op.create_index(
        op.f("ix_organizations_inn"), "organizations", ["inn"], unique=False, schema="identity"
    )
    op.create_index(
        op.f("ix_organizations_tax_id"),
        "organizations",
        ["tax_id"],
        unique=False,
        schema="identity",
    )
    op.create_table(
        "postal_codes",
        sa.Column("index", sa.String(length=6), nullable=False),
        sa.Column("office", sa.String(length=300), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("district", sa.String(length=200), nullable=True),
        sa.Column("locality", sa.String(length=200), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("index", name=op.f("pk_postal_codes")),
        schema="identity",
    )
    op.create_table(
        "recovery_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_recovery_tokens_token_hash")),
        schema="identity",
    )
    op.create_table(
        "registry_entries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("inn", sa.String(length=12), nullable=False),
        sa.Column("kpp", sa.String(length=9), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_entries")),
        schema="identity",
    )
    op.create_index(
        "ix_registry_entries_inn_kpp",
        "registry_entries",
        ["inn", "kpp"],
        unique=False,
        schema="identity",
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("login_key", sa.String(length=400), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
        schema="identity",
    )
    op.create_index(
        op.f("ix_sign_in_failures_failed_at"),
        "sign_in_failures",
        ["failed_at"],
        unique=False,
        schema="identity",
    )
    op.create_index(
        op.f("ix_sign_in_failures_login_key"),
        "sign_in_failures",
        ["login_key"],
        unique=False,
        schema="identity",
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("public_jwk", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
        schema="identity",
    )
    op.create_table(
        "contract_links",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("licensee_inn", sa.String(length=12), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["identity.organizations.id"],
            name=op.f("fk_contract_links_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_contract_links")),
        schema="identity",
    )
    op.create_index(
        "ix_contract_links_inn_number",
        "contract_links",
        ["licensee_inn", "number"],
        unique=False,
        schema="identity",
    )
    op.create_table(
        "pending_registrations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("organization", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("contact", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("phone_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["identity.organizations.id"],
            name=op.f("fk_pending_registrations_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_registrations")),
        schema="identity",
    )
    op.create_index(
        op.f("ix_pending_registrations_expires_at"),
        "pending_registrations",
        ["expires_at"],
        unique=False,
        schema="identity",
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("full_name", sa.String(length=300), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["identity.organizations.id"],
            name=op.f("fk_users_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint(
            "organization_id", "email", name=op.f("uq_users_organization_id_email")
        ),
        schema="identity",
    )
    op.create_index(op.f("ix_users_email"), "users", ["email"], unique=False, schema="identity")
    op.create_index(
        op.f("ix_users_organization_id"),
        "users",
        ["organization_id"],
        unique=False,
        schema="identity",
    )
    op.create_index(op.f("ix_users_phone"), "users", ["phone"], unique=False, schema="identity")
    op.create_index(
        "uq_users_staff_email",
        "users",
        ["email"],
        unique=True,
        schema="identity",
        postgresql_where=sa.text("organization_id IS NULL"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["identity.users.id"], name=op.f("fk_api_keys_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["identity.organizations.id"],
            name=op.f("fk_api_keys_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
        schema="identity",
    )
    op.create_index(
        op.f("ix_api_keys_organization_id"),
        "api_keys",
        ["organization_id"],
        unique=False,
        schema="identity",
    )
    op.create_table(
        "change_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("target_user_id", sa.Uuid(), nullable=True),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("price_code", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["identity.users.id"], name=op.f("fk_change_requests_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["identity.organizations.id"],
            name=op.f("fk_change_requests_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["identity.users.id"],
            name=op.f("fk_change_requests_requested_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["target_user_id"],
            ["identity.users.id"],
            name=op.f("fk_change_requests_target_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
        schema="identity",
    )
    op.create_index(
        op.f("ix_change_requests_organization_id"),
        "change_requests",
        ["organization_id"],
        unique=False,
        schema="identity",
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["identity.users.id"], name=op.f("fk_refresh_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
        schema="identity",
    )
    op.create_index(
        op.f("ix_refresh_tokens_family_id"),
        "refresh_tokens",
        ["family_id"],
        unique=False,
        schema="identity",
    )
    op.create_index(
        op.f("ix_refresh_tokens_user_id"),
        "refresh_tokens",
        ["user_id"],
        unique=False,
        schema="identity",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_refresh_tokens_user_id"), table_name="refresh_tokens", schema="identity")
    op.drop_index(
        op.f("ix_refresh_tokens_family_id"), table_name="refresh_tokens", schema="identity"
    )
    op.drop_table("refresh_tokens", schema="identity")
    op.drop_index(
        op.f("ix_change_requests_organization_id"), table_name="change_requests", schema="identity"
    )
    op.drop_table("change_requests", schema="identity")
    op.drop_index(op.f("ix_api_keys_organization_id"), table_name="api_keys", schema="identity")
    op.drop_table("api_keys", schema="identity")
    op.drop_index(
        "uq_users_staff_email",
        table_name="users",
        schema="identity",
        postgresql_where=sa.text("organization_id IS NULL"),
    )
    op.drop_index(op.f("ix_users_phone"), table_name="users", schema="identity")
    op.drop_index(op.f("ix_users_organization_id"), table_name="users", schema="identity")
    op.drop_index(op.f("ix_users_email"), table_name="users", schema="identity")
    op.drop_table("users", schema="identity")
    op.drop_index(
        op.f("ix_pending_registrations_expires_at"),
        table_name="pending_registrations",
        schema="identity",
    )
    op.drop_table("pending_registrations", schema="identity")
    op.drop_index("ix_contract_links_inn_number", table_name="contract_links", schema="identity")
    op.drop_table("contract_links", schema="identity")
    op.drop_table("signing_keys", schema="identity")
    op.drop_index(
        op.f("ix_sign_in_failures_login_key"), table_name="sign_in_failures", schema="identity"
    )
    op.drop_index(
        op.f("ix_sign_in_failures_failed_at"), table_name="sign_in_failures", schema="identity"
    )
    op.drop_table("sign_in_failures", schema="identity")
    op.drop_index("ix_registry_entries_inn_kpp", table_name="registry_entries", schema="identity")
    op.drop_table("registry_entries", schema="identity")
    op.drop_table("recovery_tokens", schema="identity")
    op.drop_table("postal_codes", schema="identity")
    op.drop_index(op.f("ix_organizations_tax_id"), table_name="organizations", schema="identity")
    op.drop_index(op.f("ix_organizations_inn"), table_name="organizations", schema="identity")
    op.drop_table("organizations", schema="identity")
    op.drop_index("ix_one_time_codes_subject", table_name="one_time_codes", schema="identity")
    op.drop_table("one_time_codes", schema="identity")
    op.drop_table("banks", schema="identity")
    op.execute(sa.schema.DropSequence(sa.Sequence("customer_number_seq", schema="identity")))
