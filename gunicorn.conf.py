"""gunicorn settings for `make run` and deployments: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Threaded workers (gthread): a client that sends its request slowly holds one thread, not
a whole worker, so it cannot stop the service for everyone. Every setting can be
overridden on the command line or with GUNICORN_CMD_ARGS.

- WEB_CONCURRENCY: worker processes (default 1). Rate limits are counted in
  CREDIT_SELF_RATELIMIT_STORAGE; the default, memory://, lives in one process, so more
  than one worker needs a shared store (redis://...). Starting several workers on
  memory:// is refused rather than silently multiplying every limit.
- CREDIT_SELF_THREADS: threads per worker (default 8).
- CREDIT_SELF_BIND: where to listen (default 127.0.0.1:5000; PORT sets the port).
"""
import os

workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("CREDIT_SELF_THREADS", "8"))
worker_class = "gthread"
bind = os.environ.get("CREDIT_SELF_BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
# A request that takes longer than this is stuck: the worker is replaced.
timeout = 30
# Keep-alive connections are parked in the worker's poller, not in a thread.
keepalive = 5
# No runtime control socket: several instances on one host would share its default path.
control_socket_disable = True
accesslog = "-"
# Each line says which worker answered (pid), so a log shows the load spread.
access_log_format = '%(h)s %(p)s "%(r)s" %(s)s %(b)s %(L)ss'


def on_starting(server) -> None:
    storage = os.environ.get("CREDIT_SELF_RATELIMIT_STORAGE", "memory://")
    if server.cfg.workers > 1 and storage.startswith("memory://"):
        raise SystemExit(
            f"{server.cfg.workers} workers would each count rate limits on their own "
            "(memory://). Set CREDIT_SELF_RATELIMIT_STORAGE=redis://host:6379/0, or run "
            "one worker with threads."
        )
