"""caisse_shared.testing."""
