"""Background work: the queue (Huey), the one lifecycle of a leased job, and the tasks.

Areas use the lifecycle; only tasks.py imports the areas.
"""
