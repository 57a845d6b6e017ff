"""The demo shop and the bulk generator the benchmarks use."""
