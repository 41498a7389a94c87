"""Signed, staged, health-gated software updates (§8 g): docs/updates.md."""
