"""The loop: what strings the lifecycle stages together (retraining, the demo)."""
