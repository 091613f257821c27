"""Start the ReportQA chat (and the HTTP API beside it): `python app.py` or `make run`."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported anywhere
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.server import run_server  # noqa: E402
from assistant.settings import Settings  # noqa: E402

if __name__ == "__main__":
    settings = Settings()
    run_server(settings, settings.host, settings.port)
