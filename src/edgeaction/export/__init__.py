"""Export: Keras → ONNX via tf2onnx, with the model contract embedded (imports TensorFlow)."""

from .onnx_export import export_model

__all__ = ["export_model"]
