"""Built-in online store backends."""
