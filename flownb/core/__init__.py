"""The pure-Python workflow core: stdlib and pydantic only."""
