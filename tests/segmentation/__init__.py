"""Tests of :mod:`cnnlib.segmentation`, one file per module."""
