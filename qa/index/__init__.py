"""Stage 2: embed chunks into Chroma, keep BM25 beside it, sync the index with the corpus."""
