"""The app database: SQLModel tables, engines and Alembic migrations."""
