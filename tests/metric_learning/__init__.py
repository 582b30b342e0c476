"""Tests of :mod:`cnnlib.metric_learning`, one file per module."""
