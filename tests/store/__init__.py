"""Tests of the store: every test runs on SQLite and, when configured, on PostgreSQL."""
