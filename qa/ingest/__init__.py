"""Stage 1: find, load and clean documents (offsets kept), chunk them, mark sentence roles."""
