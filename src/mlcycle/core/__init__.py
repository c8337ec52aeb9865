"""Settings, the error family and logging: the layer every other one stands on."""
