"""FastAPI dependencies licensing's endpoints share: its settings, and who may import or issue
on a customer's behalf."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from services.licensing.config import Settings
from shared.auth import Principal, require_scope
from shared.problems import Forbidden
from shared.service import settings_of

SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]


def admin_or_partner_key(scope: str, refusal: str) -> Callable[..., Awaitable[Principal]]:
    """A caller that is an admin, or a partner's API key carrying `scope` (a key without it is
    a 403 from `require_scope`); anyone else is a 403 saying `refusal`."""

    async def caller(
        principal: Annotated[Principal, Depends(require_scope(scope))],
    ) -> Principal:
        if principal.kind != "api_key" and not principal.has_role("admin"):
            raise Forbidden(refusal)
        return principal

    return caller
