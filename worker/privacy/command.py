"""`nps-worker forget`: one erasure in one transaction on the configured database."""

from datetime import datetime

from worker.config import Config
from worker.privacy.forget import Erasure, forget
from worker.store.engine import make_engine, session_factory


def contact_objects(config: Config) -> frozenset[str]:
    """The contact object of each CRM the config maps, as outbox rows name it."""
    return frozenset({config.crm.salesforce.contact.object, config.crm.hubspot.contact.object})


def forget_command(config: Config, email: str, *, actor: str, now: datetime) -> Erasure:
    """Erase the person with `email` from the configured database and commit."""
    engine = make_engine(config.database.url.get_secret_value())
    try:
        with session_factory(engine).begin() as session:
            return forget(
                session, email, actor=actor, contact_objects=contact_objects(config), now=now
            )
    finally:
        engine.dispose()
