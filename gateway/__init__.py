"""TDS gateway: serves a provider's assets to consumers holding a live grant."""
