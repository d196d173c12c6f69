"""Jetson deployment helpers (`doctor`, power modes, DeepStream configs, services).

Planned in the "Jetson and DeepStream deployment" issue; nothing here yet.
"""
