# dragonfly-bot: the Discord bot (`dragonfly-bot run`) with its web server on 8080.
# Node is not needed at runtime: the Supabase CLI is only used by CI, the lint
# replay and the console, never by the deployed bot.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY dragonfly_bot ./dragonfly_bot
COPY tools ./tools
RUN pip install .

# Migration files: /migrations compares them with what each database has applied when MIGRATIONS_SOURCE
# is local (or GitHub is not configured); otherwise it reads the branch CI applies, from GitHub.
COPY supabase ./supabase

# A fixed non-root uid: Fly mounts the [mounts] volume owned by the image's user.
RUN groupadd --system --gid 10001 dragonfly \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin dragonfly \
    && mkdir -p /data && chown 10001:10001 /data

ENV DATA_DIR=/data \
    WEB_HOST=0.0.0.0 \
    WEB_PORT=8080 \
    MIGRATIONS_DIR=/app/supabase/migrations

USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
CMD ["dragonfly-bot", "run"]
