"""Training pipeline: split, fit, evaluate, log, register."""
