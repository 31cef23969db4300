"""Plain per-row versions of staging's columnar code: what the tests check it against and the benchmark
measures it against. Not installed with the provider (bench/ may import demo/, not tests/)."""
