# Task image for churn trials on a Determined cluster.
#
# The model definition uploaded with `churn experiment create` carries the
# churn binary that the entrypoint (`./churn trial`) runs; this image is the
# environment around it. Determined's launcher needs python3 in the image:
# before the entrypoint it runs task-setup.sh (pip-installs the master's
# determined wheel), prep_container (downloads the model definition) and
# launch (starts the entrypoint and forwards signals to it).
#
# Build from the repository root:
#   docker build -f docker/trial.Dockerfile -t REGISTRY/churn-trial:TAG .
# and name it in the experiment config:
#   environment: {image: {cpu: REGISTRY/churn-trial:TAG}}

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# A static linux/amd64 binary: it runs in any image, and it is the same
# binary `churn experiment create` ships in the model definition.
RUN CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
    go build -trimpath -ldflags="-s -w" -o /out/churn ./cmd/churn

FROM python:3.12-slim-bookworm
# The determined package pre-installed (same version as the master) makes
# task-setup.sh's pip install of the wheel a no-op for its dependencies, so
# trials start without reaching PyPI.
ARG DETERMINED_VERSION=0.38.1
RUN pip install --no-cache-dir "determined==${DETERMINED_VERSION}" \
    && apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# Also on PATH, for shells and notebooks in the same image; trials run the
# copy from the model definition (./churn in the working directory).
COPY --from=build /out/churn /usr/local/bin/churn
# Determined sets the working directory (/run/determined/workdir) and the
# entrypoint itself; no ENTRYPOINT or CMD here on purpose.
