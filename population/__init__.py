"""Synthetic-population precision check for the withdrawal-cds engine (see README.md)."""
