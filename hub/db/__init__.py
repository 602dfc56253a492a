"""Storage: SQLModel tables, exact money columns, engines and Alembic migrations."""
