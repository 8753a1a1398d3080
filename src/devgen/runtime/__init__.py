"""The composition root: decides which services run in this process and how they meet."""
