"""Datasets: readers, the synthetic NACE generator."""
