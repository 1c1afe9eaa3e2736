"""Alembic environment: runs migrations for the code path (migrate.upgrade) and the alembic CLI."""

from logging.config import fileConfig

from alembic import context

from worker.store.engine import normalise_url
from worker.store.migrate import check_foreign_keys, migration_connection
from worker.store.models import Base

config = context.config


def _database_url() -> str:
    """The URL from migrate.upgrade, else ``alembic -x url=...``, else alembic.ini."""
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL: run `alembic -x url=DATABASE_URL upgrade head`")
    return str(url)


def run_migrations_offline() -> None:
    """Print the SQL of the migrations instead of running them (``alembic upgrade --sql``)."""
    context.configure(
        url=normalise_url(_database_url()),
        target_metadata=Base.metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations in one transaction (SQLite included: the engine emits BEGIN itself)."""
    with migration_connection(_database_url()) as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,
            compare_type=True,
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            check_foreign_keys(connection)


if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
