# mlgate as a container action: slim Python with mlgate, scikit-learn and skops, the onnx extra
# (onnxruntime, onnx) for .onnx models, and the sql extra (SQLAlchemy and PostgreSQL's psycopg,
# binary wheel) for a canary log in a database. XGBoost and LightGBM stay out: a model that needs
# another library extends this image (README, "Prebuilt image").
#
# Two stages. The build stage installs wheels only into /install and compiles their bytecode; the
# image copies /install alone onto a fresh python:3.11-slim, so no pip cache, build tree or build
# dependency reaches it. Sizes and start-up: benchmarks/bench_image.py, benchmarks/bench_startup.py.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    MLGATE_PREFIX=/install
# onnx costs 111 of the image's 757 MB on disk, 40 of 247 MB compressed: one runtime that reads
# models exported from most frameworks. --build-arg MLGATE_EXTRAS=sql leaves it out.
ARG MLGATE_EXTRAS=sql,onnx

WORKDIR /src
COPY pyproject.toml README.md ./
COPY package ./package
COPY gates ./gates
COPY action ./action
COPY templates ./templates
# The test suites that wheels ship (47 MB, pandas' the most) go, as the official image drops the
# standard library's. Bytecode is compiled here, once (67 MB): a container starts from the image
# on every run, so without .pyc files each run compiles numpy, pandas, scipy and scikit-learn
# again (3.3 s of CPU before the first model loads instead of 1.1 s). unchecked-hash: nothing in
# an image changes under its .pyc files, so Python need not stat every source to trust them. The
# project is written ./. so that hadolint reads it as a path, not an unpinned package.
RUN pip install --prefix="$MLGATE_PREFIX" --only-binary=:all: --no-compile "./.[$MLGATE_EXTRAS]" \
    && find "$MLGATE_PREFIX" -depth -type d -name tests -exec rm -rf {} + \
    && python -m compileall -q -j 0 --invalidation-mode unchecked-hash "$MLGATE_PREFIX"

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

COPY --from=build /install /usr/local
# The base image ships its standard library without bytecode: about 200 of its modules are
# compiled on every start otherwise. site-packages is compiled already (build stage).
RUN python -m compileall -q -j 0 --invalidation-mode unchecked-hash -x /site-packages/ /usr/local/lib/python3.11

# No USER: GitHub runs container actions as root, with the workspace mounted from the runner,
# and mlgate writes its report into that workspace; another user could not.
ENTRYPOINT ["mlgate"]
CMD ["action"]
