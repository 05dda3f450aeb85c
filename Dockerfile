# Builds the images of Foresight's components: one build, one image per
# target (docker build --target scheduler|nodeagent|controller). Not built
# by CI (its machines have no container engine); `make build` produces the
# same binaries.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 make build

FROM gcr.io/distroless/static:nonroot AS scheduler
COPY --from=build /src/bin/foresight-scheduler /foresight-scheduler
USER 65532:65532
ENTRYPOINT ["/foresight-scheduler"]

FROM gcr.io/distroless/static:nonroot AS controller
COPY --from=build /src/bin/foresight-controller /foresight-controller
USER 65532:65532
ENTRYPOINT ["/foresight-controller"]

# The node agent reads cgroups and loads eBPF programs as root with named
# capabilities (see manifests/nodeagent).
FROM gcr.io/distroless/static AS nodeagent
COPY --from=build /src/bin/foresight-nodeagent /foresight-nodeagent
ENTRYPOINT ["/foresight-nodeagent"]
