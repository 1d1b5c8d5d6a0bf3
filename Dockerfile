# withdrawal-cds: production image. Secure by default: bound to 0.0.0.0 it refuses to
# start until trusted issuers are configured (mount a config and set WITHDRAWAL_CDS_CONFIG).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    WITHDRAWAL_CDS_DATA_DIR=/var/lib/withdrawal-cds

WORKDIR /app
COPY pyproject.toml README.md ./
COPY cds_service ./cds_service
COPY cards ./cards
RUN pip install . \
 && useradd --system --uid 10001 --home /var/lib/withdrawal-cds --create-home cds

USER cds
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
CMD ["withdrawal-cds", "serve", "--host", "0.0.0.0", "--port", "8080"]
