# herald-controller: one static binary (CGO_ENABLED=0) on a distroless base, nothing else in the image.
# Build from the repository root: make images, or
#   docker build -f build/controller.Dockerfile -t herald-controller .
ARG GO_IMAGE=golang:1.25-bookworm
FROM ${GO_IMAGE} AS build
ARG TARGETOS TARGETARCH VERSION=dev COMMIT=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY internal/ internal/
COPY controller/ controller/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH:-amd64} go build -trimpath \
      -ldflags "-s -w -X github.com/heraldlb/herald/internal/version.Version=${VERSION} -X github.com/heraldlb/herald/internal/version.Commit=${COMMIT}" \
      -o /out/herald-controller ./controller

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/herald-controller /herald-controller
# nonroot (65532): the controller needs no privilege at all.
USER 65532:65532
EXPOSE 7472 7473 9443
ENTRYPOINT ["/herald-controller"]
