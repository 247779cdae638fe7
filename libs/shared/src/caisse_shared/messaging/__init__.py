"""caisse_shared.messaging."""
