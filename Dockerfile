# The one image of every app service in docker-compose.yml (api, worker, beat, ingest,
# bot, migrate); each service picks its process with `command`. The default command is
# the api server.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# The runtime packages pinned in requirements.txt (test and lint tools are in
# requirements-dev.txt and stay out of the image). Installed before the code is copied: a
# code change does not invalidate this layer.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-deps -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The processes run as an unprivileged user. The code stays owned by root (read-only to
# them); the one place they write is the static directory, which the migrate service
# fills with collectstatic and nginx serves from a shared volume.
RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app \
    && mkdir -p /app/staticfiles \
    && chown app:app /app/staticfiles

COPY . .
RUN python -m compileall -q -j 0 /app

USER app
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "config.asgi:application"]
