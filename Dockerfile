# One image for every lehnz process: `lehnz serve` (the default command, any --service) and
# `lehnz worker`. Dependencies come from uv.lock, exactly as `make install` installs them.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never

RUN pip install --no-cache-dir uv==0.13.8

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN uv sync --frozen --no-dev && rm -rf /root/.cache

# A user of its own, and a data directory it can write: with SQLite the database lives there;
# with PostgreSQL only a generated secret would, and only if LEHNZ_SECRET_KEY is unset.
RUN useradd --system --uid 10001 --home-dir /var/lib/lehnz --no-create-home lehnz \
    && mkdir -p /var/lib/lehnz \
    && chown lehnz:lehnz /var/lib/lehnz
ENV PATH="/app/.venv/bin:$PATH" \
    LEHNZ_DATA_DIR=/var/lib/lehnz
USER lehnz

EXPOSE 8000
CMD ["lehnz", "serve", "--host", "0.0.0.0"]
