"""MLflow registry operations: register, aliases, promotion."""
