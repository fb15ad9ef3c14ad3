"""Model identity, the registry of pretrained weights and their published figures (stdlib only)."""
