"""caisse_shared.events."""
