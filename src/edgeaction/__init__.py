"""edgeaction: video action recognition from Keras training to a live camera."""

__version__ = "0.1.0"
