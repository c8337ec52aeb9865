"""The task seam: what a task takes and returns, and how it is evaluated and checked."""
