# retention-mcp as a team server: stateless streamable HTTP on port 8000, tokens required, plans in PostgreSQL.
#   docker build -t retention-mcp .
#   docker run -p 8000:8000 -v ./tokens:/run/secrets/tokens:ro \
#     -e RETENTION_MCP_TOKENS_FILE=/run/secrets/tokens -e RETENTION_MCP_PLAN_STORE=postgresql://... retention-mcp
FROM python:3.12-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md README.zh-CN.md ./
COPY server server
COPY templates templates
COPY schemas schemas
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
COPY deploy /deploy
COPY --from=wheel /wheels /wheels
RUN sh /deploy/install.sh /wheels /opt/retention-mcp && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /home/retention --create-home retention \
    && mkdir -p /data && chown retention /data
ENV PATH=/opt/retention-mcp/bin:$PATH \
    RETENTION_MCP_DATA_DIRS=/data \
    PYTHONUNBUFFERED=1
USER retention
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
ENTRYPOINT ["/deploy/entrypoint.sh"]
