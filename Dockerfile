# One image for every Kabinet process: the four services, the gateway and the migration job.
# The process is chosen by the command; the default runs the gateway.
#   docker build -t kabinet .
#   docker run kabinet                                   # gateway on :8000
#   docker run kabinet uvicorn services.identity.app:create_app --factory --host 0.0.0.0 --port 8001
#   docker run kabinet python -m shared.cli migrate
# No HEALTHCHECK here: docker-compose.yml and the Kubernetes manifests define the probes
# (GET /healthz alive, GET /readyz ready) for each process.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# A fixed numeric uid/gid, so that Kubernetes can verify runAsNonRoot.
RUN groupadd --system --gid 10001 kabinet \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin kabinet

WORKDIR /app

# Pinned runtime dependencies first (no test or lint tools: those are in requirements-dev.lock);
# this layer is rebuilt only when the lock file changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock

# Then the project itself. Editable, so that each service's Alembic scripts
# (services/<name>/migrations, not a package) are found next to the code.
COPY . .
RUN pip install --no-deps -e . \
 && python -m compileall -q /app

USER 10001:10001

EXPOSE 8000 8001 8002 8003 8004

CMD ["uvicorn", "gateway.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
