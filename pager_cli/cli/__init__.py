"""The command line: thin Typer commands over the domain modules."""

from .app import app, main

__all__ = ["app", "main"]
