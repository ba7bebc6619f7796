"""Shared fakes and fixtures for the tests (one folder, imported by the test modules)."""
