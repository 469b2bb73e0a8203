"""The Gradio chat front end; thin: it calls the public ``qa`` API and renders."""
