"""Shared pieces of novaflow: settings, task-queue names, logging and the CLI."""
