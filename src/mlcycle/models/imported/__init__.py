"""The ``pyfunc`` family: models trained by the user's own code, imported from MLflow."""
