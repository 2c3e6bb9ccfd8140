"""Built-in metadata store backends."""
