"""FastAPI dependencies dongle's endpoints share."""

from typing import Annotated

from fastapi import Depends

from shared.clock import Clock
from shared.service import Runtime, get_runtime


def get_clock(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Clock:
    return runtime.clock


ClockDep = Annotated[Clock, Depends(get_clock)]
