import pytest

from assistant.config import HomeConfig, IntentConfig
from assistant.intent.home import load_home
from assistant.intent.parser import IntentParser


class FakeClock:
    def __init__(self, t: float = 1_750_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(scope="session")
def home():
    return load_home(HomeConfig())


@pytest.fixture(scope="session")
def parser(home):
    return IntentParser(IntentConfig(), home)
