"""Jetson deployment: `doctor`, power modes, DeepStream configs, services and containers.

Every command here runs anywhere: probes answer for the machine they run on, and the
generated files are written to NVIDIA's documented interfaces (JetPack 6: CUDA 12.6,
TensorRT 10.3, DeepStream 7.1, Python 3.10). Nothing here imports TensorFlow.
"""
