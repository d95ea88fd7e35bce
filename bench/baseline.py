"""The benchmark's yardstick: the smallest Flask app, served exactly like the real one.

bench/run.py serves this with the project's gunicorn.conf.py and the same environment as
the app (workers, threads, bind address), and loads it with wrk before the app's
endpoints, so an endpoint's requests/s divided by this app's is a ratio that depends
little on how fast the machine is.

Run it by hand: gunicorn -c gunicorn.conf.py --chdir bench baseline:app
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
