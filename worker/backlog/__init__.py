"""The improvement backlog: items per reason theme, owned, due, closed, and told to customers."""
