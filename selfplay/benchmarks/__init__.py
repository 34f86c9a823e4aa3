"""Benchmarks behind `selfplay bench` and scripts/bench_*.py."""
