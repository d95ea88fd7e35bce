"""Seed data: the catalog from seed/, a deterministic synthetic population and the demo
personas. `flask seed` runs them in that order.

- catalog.py: `load_catalog` (production code: the real catalog, re-runnable).
- population.py: `generate_population`, millions of synthetic residents with entries
  and pilot members, bulk-loaded (bulk.py: sqlite-utils on SQLite, COPY on PostgreSQL).
- facts.py, names.py, tables.py: what the generator writes, from seed/population/*.json.
- personas.py: the named demo residents and staff, made through the capabilities' own
  data functions.
"""
from .catalog import load_catalog
from .personas import (ADMIN_ACCOUNTS, DEMO_PASSWORD, NAMESAKE, PERSONAS, create_personas,
                       demo_accounts, persona)
from .population import generate_population
from .tables import SEED_DIR

__all__ = ["ADMIN_ACCOUNTS", "DEMO_PASSWORD", "NAMESAKE", "PERSONAS", "SEED_DIR",
           "create_personas", "demo_accounts", "generate_population", "load_catalog", "persona"]
