# The app image for docs/deploy.md: gunicorn with threaded workers, no database inside.
FROM python:3.11-slim
WORKDIR /srv/credit-self
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Compiled catalogs are build output (not in git).
RUN for dir in credit_self/translations credit_self/*/translations; do \
      pybabel compile -d "$dir"; done
ENV FLASK_APP=app CREDIT_SELF_BIND=0.0.0.0:8000
EXPOSE 8000
USER nobody
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
