"""Tables owned by the pilots capability, as a sqlite-utils Migrations set applied after
the core schema (see credit_self.db.migrate). Never change a shipped migration."""
from sqlite_utils import Database  # noqa: F401
from sqlite_utils.migrations import Migrations

migrations = Migrations("credit_self.pilots")
