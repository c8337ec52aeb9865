"""The prediction API: app factory, routes, model holder."""
