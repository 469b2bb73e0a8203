"""Stage 3: check a question, resolve follow-ups, search dense + lexical and fuse."""
