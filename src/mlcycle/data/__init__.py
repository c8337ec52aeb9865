"""Datasets: readers, validation, versioned snapshots, reference profiles, the frozen holdout."""
