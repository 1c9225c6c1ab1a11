# mlgate as a container action: slim Python, mlgate with scikit-learn and skops, and the sql extra
# (SQLAlchemy and PostgreSQL's psycopg, binary wheel) for a canary log in a database; nothing else.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/mlgate
COPY pyproject.toml README.md ./
COPY package ./package
COPY gates ./gates
COPY action ./action
COPY templates ./templates
# Wheels only (no compilers in the image); the build tree is removed in the same layer. The project
# is written ./. so hadolint reads it as a path, not an unpinned package.
RUN pip install --only-binary=:all: --no-compile ./.[sql] \
    && rm -rf /opt/mlgate/build /root/.cache

ENTRYPOINT ["mlgate"]
CMD ["action"]
