"""Storage: one interface (VectorStore), two Qdrant backends behind it."""
