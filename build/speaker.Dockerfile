# herald-speaker: one static binary (CGO_ENABLED=0) on a distroless base, nothing else in the image.
# Build from the repository root: make images, or
#   docker build -f build/speaker.Dockerfile -t herald-speaker .
ARG GO_IMAGE=golang:1.25-bookworm
FROM ${GO_IMAGE} AS build
ARG TARGETOS TARGETARCH VERSION=dev COMMIT=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY internal/ internal/
COPY speaker/ speaker/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH:-amd64} go build -trimpath \
      -ldflags "-s -w -X github.com/heraldlb/herald/internal/version.Version=${VERSION} -X github.com/heraldlb/herald/internal/version.Commit=${COMMIT}" \
      -o /out/herald-speaker ./speaker

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/herald-speaker /herald-speaker
# root, but the chart drops every capability except NET_RAW and NET_ADMIN (raw ARP/NDP sockets,
# neighbour tables). A non-root user would lose those: Kubernetes grants added capabilities to
# root only, and no_new_privs (allowPrivilegeEscalation: false) ignores file capabilities.
USER 0:0
EXPOSE 7474 7475 7946 7946/udp
ENTRYPOINT ["/herald-speaker"]
