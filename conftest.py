"""The suite's root conftest: the opscheck plugin comes from its entry point; fixtures from fixtures/."""

pytest_plugins = ["fixtures.hosts", "fixtures.postgres", "fixtures.redis"]
