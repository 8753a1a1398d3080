"""The built-in step types and the executors that do their work."""
