# Pipeline image: the steps of the Pachyderm pipelines in pipelines/*.json,
# `churn pipeline train` and `churn pipeline deploy`.
#
# /opt/churn/experiment is the Determined model definition the train step
# uploads with each experiment: the experiment config, the feature spec and
# the churn binary that the config's entrypoint (`./churn trial`) runs in
# the trial container. The same binary runs the steps, so the image holds
# it once. pachctl is not needed: data is read through the S3 gateway and
# the cluster through the KServe clientset.
#
# Build from the repository root:
#   docker build -f docker/pipeline.Dockerfile -t REGISTRY/churn-pipeline:TAG .
# and name it in the pipeline specs (transform.image).

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static linux/amd64: it runs in this image and in Determined's trial image.
RUN CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
    go build -trimpath -ldflags="-s -w" -o /out/churn ./cmd/churn
RUN mkdir -p /out/experiment \
    && cp /out/churn /out/experiment/churn \
    && cp experiment/const.yaml experiment/features.json /out/experiment/

# Static base with CA certificates (https masters and buckets). It runs as
# root: Pachyderm's worker shares the container with the user code and
# manages /pfs in it.
FROM gcr.io/distroless/static-debian12
COPY --from=build /out/experiment/ /opt/churn/experiment/
ENV PATH=/opt/churn/experiment:/usr/local/bin:/usr/bin:/bin
WORKDIR /opt/churn
ENTRYPOINT ["/opt/churn/experiment/churn"]
CMD ["pipeline", "--help"]
