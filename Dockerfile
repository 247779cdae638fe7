# One image for every Caisse service; the command picks the service (see docker-compose.yml).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH \
    CAISSE_SCHEMAS_DIR=/app/schemas/avro
WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.8
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
COPY schemas ./schemas
RUN uv sync --frozen --all-packages --no-dev
RUN useradd --system --uid 10001 caisse && chown -R caisse /app
USER caisse
EXPOSE 8000
# SERVICE=payments MODULE=caisse_payments, set per container
CMD ["sh", "-c", "python -m caisse_shared.devstack migrate $SERVICE && exec uvicorn --factory $MODULE.main:create_app --host 0.0.0.0 --port 8000 --workers ${WORKERS:-2}"]
