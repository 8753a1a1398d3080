"""devgen."""
