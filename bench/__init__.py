"""Benchmarks of the kiosk: each module ``bench_*.py`` is a runnable script that prints a table."""
