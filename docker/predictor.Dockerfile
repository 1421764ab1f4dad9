# Predictor image: `churn serve` as a KServe custom predictor container.
#
# KServe's storage-initializer downloads the model (a checkpoint directory:
# model.bin, features.json, metadata.json) into /mnt/models before this
# container starts; the server reads it from there, listens on 8080 (or
# $PORT, as Knative sets it) and serves V1, V2, health and /metrics there.
#
# Build from the repository root:
#   docker build -f docker/predictor.Dockerfile -t REGISTRY/churn-predictor:TAG .
# Run locally against a checkpoint directory:
#   docker run --rm -p 8080:8080 -v "$PWD/ckpt:/mnt/models:ro" \
#     REGISTRY/churn-predictor:TAG --model_name customer-churn

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static, stripped, reproducible paths: the final image has no libc.
# -tags predictor leaves out the `churn pipeline` verbs and with them the
# Kubernetes/KServe clientsets and cloud SDKs (cmd/churn/pipeline_off.go):
# same source, same serve code, half the binary, and the server starts at
# about 23 MB RSS instead of 61 MB (figures in bench/README.md). Every other
# verb is still in the image's binary.
RUN CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
    go build -tags predictor -trimpath -ldflags="-s -w" -o /out/churn ./cmd/churn

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/churn /churn
# KServe mounts the model at /mnt/models (read-only) and may set PORT;
# --model_name comes from the InferenceService's args.
ENV PORT=8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/churn", "serve"]
CMD ["--model", "/mnt/models"]
