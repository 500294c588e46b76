"""Bridges to other tools: PyTorch export, ONNX and PyTorch import."""
