"""Performance benchmark of withdrawal-cds (design section 7). Run: python -m benchmarks.bench"""
