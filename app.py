"""Start the ReportQA chat (and the HTTP API beside it): `python app.py` or `make run`."""

from assistant.server import run_server
from assistant.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    run_server(settings, settings.host, settings.port)
