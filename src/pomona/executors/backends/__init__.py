"""Built-in executors: ``local`` (in-process), ``process`` (a process pool), ``ray``."""
