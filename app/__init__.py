"""keras-explainer: every parameter of a Keras model explained, without importing Keras."""

__version__ = "0.1.0"
