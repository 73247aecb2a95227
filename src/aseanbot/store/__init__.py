"""aseanbot's storage: the Store and the schema it keeps up to date."""

from aseanbot.store.migrations import SchemaTooNewError, StoreOpenError
from aseanbot.store.store import Store

__all__ = ["SchemaTooNewError", "Store", "StoreOpenError"]
