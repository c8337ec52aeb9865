"""The model protocol, the fastText-style engine and the MLflow pyfunc wrapper."""
