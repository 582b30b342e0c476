"""Tests of :mod:`cnnlib.style`, one file per module."""
