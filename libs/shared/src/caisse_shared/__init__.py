"""Caisse shared platform library."""
