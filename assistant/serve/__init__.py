"""The edges people use: the Gradio chat, the HTTP API, the server that mounts both, uploads, feedback and the security middleware."""
