"""The pure core: states and transitions, money, fraud decisions, audit chain math.

Nothing here does I/O or reads the clock: every function is a function of its arguments.
"""
