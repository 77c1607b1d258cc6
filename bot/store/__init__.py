"""Storage: all SQL of the project lives in this package."""
