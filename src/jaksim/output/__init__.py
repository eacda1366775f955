"""Outputs: one column spec per table, atomic Parquet folders and writers, provenance metadata."""
