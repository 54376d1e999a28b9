"""Declarative scenarios: files that describe a world, played on the engine, checked in SQL."""
