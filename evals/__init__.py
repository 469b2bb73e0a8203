"""Evaluation dataset and tooling for the outlook-qa chatbot."""
