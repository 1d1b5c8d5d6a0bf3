from tests.store.databases import *  # noqa: F401,F403  (fixtures)
