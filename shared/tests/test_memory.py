"""Large data held only while in use: built once, dropped when idle, its memory given back."""

import subprocess
import sys
from pathlib import Path

from shared.memory import ReleasedWhenIdle
from shared.testing.plugin import eventually

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_built_once_while_in_use_and_again_after_an_idle_release() -> None:
    clock, built = Clock(), list[object]()

    def build() -> object:
        built.append(object())
        return built[-1]

    held = ReleasedWhenIdle(build, 300, clock)
    first = held.get()
    clock.now += 299
    assert held.get() is first
    clock.now += 299  # each use restarts the quiet period
    assert held.release_if_idle() is False
    assert held.get() is first
    clock.now += 300
    assert held.release_if_idle() is True
    assert not held.loaded
    assert held.get() is not first
    assert len(built) == 2


async def test_the_timer_releases_it_without_being_asked() -> None:
    held = ReleasedWhenIdle(lambda: bytearray(1024), idle_seconds=0.05)
    held.get()
    assert held.loaded
    await eventually(lambda: not held.loaded, timeout=5)


MEASURE = """
from services.identity.requisites import genitive
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
before = rss()
assert genitive.director_name_genitive("Иванов Иван Иванович") == "Иванова Ивана Ивановича"
loaded = rss()
genitive._analyzer.idle_seconds = 0
assert genitive._analyzer.release_if_idle()
print(loaded - before, rss() - before)
"""


def test_the_morphology_dictionaries_leave_the_process_when_released() -> None:
    """identity's ~25 MB of pymorphy3 dictionaries are given back to the system, not kept."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE], capture_output=True, text=True, cwd=ROOT, check=True
    )
    loaded, released = map(float, result.stdout.split())
    assert loaded > 15, "the analyzer was expected to be large"
    assert released < 10, f"{released:.1f} MB still resident after the release"
