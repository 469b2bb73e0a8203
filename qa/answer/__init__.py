"""Stage 4: answer from retrieved candidates (extractive reader or an LLM), cited and verified."""
