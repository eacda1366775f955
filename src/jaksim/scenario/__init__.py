"""Scenario files: the pydantic schema, YAML with the line of every key, one-line errors."""
