# Builds the Foresight scheduler image. Not built by CI (its machines have
# no container engine); `make build` produces the same binary.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 make build

FROM gcr.io/distroless/static:nonroot
COPY --from=build /src/bin/foresight-scheduler /foresight-scheduler
USER 65532:65532
ENTRYPOINT ["/foresight-scheduler"]
