"""The devgen services: one package each, meeting only through HTTP and events."""
