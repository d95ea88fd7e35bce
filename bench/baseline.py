"""The benchmark's yardstick: the smallest Flask app, served exactly like the real one.

bench/run.py serves this with the same gunicorn command as the app (same workers, same
worker class, same bind address) and loads it with wrk between the app's endpoints, so
an endpoint's requests/s divided by this app's is a ratio that does not depend on how
fast the machine is.

Run it by hand: gunicorn -w 2 -b 127.0.0.1:8001 --chdir bench baseline:app
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
