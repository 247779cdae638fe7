"""caisse_shared.http."""
