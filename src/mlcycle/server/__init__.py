"""The team tracking server: MLflow on PostgreSQL with users and roles."""
