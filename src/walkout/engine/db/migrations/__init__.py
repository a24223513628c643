"""The Alembic environment of the walkout database (run by Alembic, never imported by walkout)."""
