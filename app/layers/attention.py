"""Attention layers: weights and output shapes (see app.layers.registry)."""
