"""Codes cannot be pumped at one e-mail or phone: however many registrations or recoveries
ask, one destination gets at most `code_destination_per_hour` codes an hour."""

from datetime import timedelta

from services.identity.tests.test_registration import contact, new_organization, unique_phone

PER_HOUR = 5


async def test_registrations_to_one_phone_send_at_most_five_codes_an_hour(identity):
    phone = unique_phone()
    answers = [
        await identity.client.post(
            "/api/v1/registration",
            json={"organization": new_organization(), "contact": contact(phone=phone)},
        )
        for _ in range(PER_HOUR + 3)
    ]
    assert [answer.status_code for answer in answers] == [201] * PER_HOUR + [429] * 3
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 0 < int(refused.headers["retry-after"]) <= 3601
    assert len([m for m in identity.sms.messages if m["to"] == phone]) == PER_HOUR
    # An hour later the number may get codes again.
    identity.clock.advance(timedelta(hours=1, seconds=1))
    again = await identity.client.post(
        "/api/v1/registration",
        json={"organization": new_organization(), "contact": contact(phone=phone)},
    )
    assert again.status_code == 201, again.text


async def test_every_spelling_of_an_email_is_one_destination(identity):
    email = f"pumped-{unique_phone()[-7:]}@example.ru"
    spellings = [email, email.upper(), email.title(), f" {email}", email.capitalize(), email]
    statuses = []
    for spelling in spellings:
        response = await identity.client.post(
            "/api/v1/auth/password-recovery", json={"email": spelling}
        )
        statuses.append(response.status_code)
        # Past the one-minute wait of one subject: only the hourly cap is left to stop it.
        identity.clock.advance(timedelta(seconds=61))
    assert statuses == [202] * PER_HOUR + [429]
