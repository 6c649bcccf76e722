"""Large data a process needs now and then, held only while it is in use.

`ReleasedWhenIdle(build, idle_seconds)` builds the value on first `get()` and drops it once
nobody has asked for it for `idle_seconds`, handing the freed memory back to the system, so an
idle replica does not carry tens of megabytes for a rarely used feature.
"""

import ctypes
import ctypes.util
import gc
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def _malloc_trim() -> Callable[[], object]:
    """glibc keeps freed heap pages mapped until malloc_trim; other C libraries need nothing."""
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    return (lambda: trim(0)) if trim is not None else (lambda: None)


_trim = _malloc_trim()


def return_free_memory() -> None:
    """Collects garbage and gives the freed heap pages back to the system."""
    gc.collect()
    _trim()


class ReleasedWhenIdle(Generic[T]):
    def __init__(
        self,
        build: Callable[[], T],
        idle_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._build = build
        self.idle_seconds = idle_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._value: T | None = None
        self._last_use = 0.0
        self._timer: threading.Timer | None = None

    @property
    def loaded(self) -> bool:
        return self._value is not None

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._build()
            self._last_use = self._monotonic()
            if self._timer is None:
                self._schedule(self.idle_seconds)
            return self._value

    def release_if_idle(self) -> bool:
        """Drops the value when unused for `idle_seconds`; True if it did."""
        with self._lock:
            self._timer = None
            if self._value is None:
                return False
            remaining = self._last_use + self.idle_seconds - self._monotonic()
            if remaining > 0:
                self._schedule(remaining)
                return False
            self._value = None
        return_free_memory()
        return True

    def _schedule(self, delay: float) -> None:
        timer = threading.Timer(delay, self.release_if_idle)
        timer.daemon = True
        timer.start()
        self._timer = timer
