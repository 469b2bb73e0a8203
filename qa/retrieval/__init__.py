"""Stage 3: check a question, resolve follow-ups, search dense + lexical and fuse.

Named ``retrieval``, not ``retrieve``, so the subpackage never shadows ``qa.retrieve``.
"""
