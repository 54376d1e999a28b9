"""The service layer: each command is one unit of work over the pure domain."""
