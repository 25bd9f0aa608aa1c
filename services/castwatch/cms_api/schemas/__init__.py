"""Pydantic models of the API: inputs refuse unknown fields; outputs read ORM rows."""
