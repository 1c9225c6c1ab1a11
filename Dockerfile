# mlgate as a container action: slim Python, mlgate with scikit-learn and skops, nothing else.
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
# Wheels only (no compilers in the image); the build tree is removed in the same layer.
RUN pip install --only-binary=:all: --no-compile . \
    && rm -rf /opt/mlgate/build /root/.cache

ENTRYPOINT ["mlgate"]
CMD ["action"]
