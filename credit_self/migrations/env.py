"""Alembic's environment: run the migrations on the connection `credit_self.schema`
hands over (or on `sqlalchemy.url` when Alembic's own command line is used)."""
from alembic import context
from sqlalchemy import create_engine

from credit_self.db import normalised_url

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(normalised_url(config.get_main_option("sqlalchemy.url")))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported: run `flask db upgrade`.")
run_migrations_online()
