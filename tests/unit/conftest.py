"""Shared test set-up: tests import their fakes (fake_host) by name."""
