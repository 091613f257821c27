"""Start the ReportQA chat (and the HTTP API beside it): `python app.py` or `make run`."""

# importing the settings (server.py does so first) switches every telemetry and model-hub access off
from assistant.serve.server import run_server
from assistant.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    run_server(settings, settings.host, settings.port)
