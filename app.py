"""Entry point: `flask --app app ...`, `gunicorn 'app:create_app()'`, or `python app.py`."""
import os

from credit_self import create_app

if __name__ == "__main__":
    create_app().run(
        host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), debug=False
    )
