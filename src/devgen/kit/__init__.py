"""The chassis every devgen service is built on; it imports no service."""
