"""Writers of synthetic chat exports, shared by examples/, benchmarks/ and tests/ (standard library only)."""
