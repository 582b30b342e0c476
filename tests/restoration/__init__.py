"""Tests of :mod:`cnnlib.restoration`, one file per module."""
