# aseanbot: the Telegram bot, polling by default.
#   docker build -t aseanbot .
#   docker run -d --env-file .env -v aseanbot-data:/var/lib/aseanbot aseanbot
# The token comes from the environment at run time; it is never part of the image
# (.env is excluded by .dockerignore). See docs/DEPLOY.md.

FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ASEANBOT_DB_PATH=/var/lib/aseanbot/aseanbot.db \
    ASEANBOT_DATA_DIR=/app/data \
    ASEANBOT_HEALTH_PORT=8080

# A fixed numeric id, so volumes and bind mounts can be chowned to it from the host and
# orchestrators can verify the user is not root without reading /etc/passwd.
RUN groupadd --system --gid 10001 aseanbot \
    && useradd --system --uid 10001 --gid aseanbot --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin aseanbot \
    && install -d -o aseanbot -g aseanbot -m 0750 /var/lib/aseanbot

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes. Every
# dependency ships a wheel or is pure Python, so no compiler is installed (or left behind).
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# Only what runs. Owned by root, so the bot cannot change its own code or data files;
# compiled now because the runtime user cannot write __pycache__ here.
COPY bot.py .
COPY src/ src/
COPY data/ data/
RUN python -m compileall -q bot.py src

# Declared after the folder is created and chowned, so a new named volume starts out
# owned by the bot's user. The database, its WAL files and the digest lock live here.
VOLUME ["/var/lib/aseanbot"]

USER 10001:10001

# Webhook mode (`python bot.py run --webhook`) listens here; polling needs no inbound port.
EXPOSE 8443

# The bot's health endpoint listens on 127.0.0.1 inside the container, which is where this
# check runs. urllib, because the slim image has no curl; a non-2xx answer raises → exit 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${ASEANBOT_HEALTH_PORT}/healthz', timeout=4)" || exit 1

# Exec form: python is PID 1's child under `init: true` (compose) or PID 1 itself, and gets
# SIGTERM directly, on which the bot finishes the update in hand and closes the database.
CMD ["python", "bot.py", "run"]
