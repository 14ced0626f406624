import logging

import pytest

logging.getLogger("MESA").setLevel(logging.WARNING)

AREAS = ("blackburn_with_darwen", "bradford", "peterborough", "walsall", "waltham_forest")


@pytest.fixture(scope="session")
def areas():
    return AREAS
