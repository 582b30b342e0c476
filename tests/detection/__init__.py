"""Tests of :mod:`cnnlib.detection`, one file per module."""
