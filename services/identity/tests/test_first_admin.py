"""The first admin is created from configuration at start, once, with the password hashed."""

from sqlalchemy import select

from services.identity.accounts.passwords import verify_password
from services.identity.app import create_app
from services.identity.models import User
from services.identity.tests.conftest import identity_settings
from shared.testing.plugin import running


async def test_first_admin_created_once_with_hashed_password(identity):
    async with identity.app.state.sessionmaker() as session:
        admins = (
            await session.scalars(select(User).where(User.email == "admin@kabinet.test"))
        ).all()
    assert len(admins) == 1
    assert admins[0].roles == ["admin"] and admins[0].organization_id is None
    assert admins[0].password_hash != "Adm1n-Secret-Pass"
    assert verify_password(admins[0].password_hash, "Adm1n-Secret-Pass")
    # A second start (another replica) finds it and creates no other.
    second = create_app(identity.settings)
    async with running(second):
        pass
    async with identity.app.state.sessionmaker() as session:
        count = len(
            (await session.scalars(select(User).where(User.email == "admin@kabinet.test"))).all()
        )
    assert count == 1


async def test_generated_admin_password_is_printed(platform_settings, mail_sink, sms_sink, capsys):
    settings = identity_settings(
        platform_settings,
        mail_sink[1],
        sms_sink.url,
        admin_email="generated-admin@kabinet.test",
        admin_password=None,
    )
    async with running(create_app(settings)):
        pass
    printed = capsys.readouterr().out
    assert "first admin created: generated-admin@kabinet.test / " in printed
