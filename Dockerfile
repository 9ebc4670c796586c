# Container image of onedrive-agent: a static binary on a distroless base, running as a
# non-root user, with its data_dir on the /data volume.
#
#   docker build -t onedrive-agent:dev --build-arg VERSION=1.2.3 .
#   docker run -v od-data:/data -v $PWD/agent.toml:/etc/onedrive-agent/agent.toml:ro onedrive-agent:dev
#
# The configuration is read from /etc/onedrive-agent/agent.toml; set data_dir = "/data" in it.
# For the admin API to be reachable from outside the container (probes, metrics), listen on
# all addresses: [admin] listen = "0.0.0.0:8720". Requests must then carry a Host header that
# is one of the host's addresses, localhost, or a name listed in [admin] hosts (a Service DNS
# name, for instance); /healthz answers any Host, so probes need no entry.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# scripts/build.sh holds the build flags (static, trimmed, stamped), as for the release binaries.
RUN VERSION=${VERSION} COMMIT=${COMMIT} scripts/build.sh /out/onedrive-agent \
    && mkdir -p /out/data && chmod 0700 /out/data

# distroless/static has CA certificates and a "nonroot" user (65532); it has no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/onedrive-agent /usr/local/bin/onedrive-agent
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV ONEDRIVE_AGENT_CONFIG=/etc/onedrive-agent/agent.toml
VOLUME ["/data"]
EXPOSE 8720
ENTRYPOINT ["/usr/local/bin/onedrive-agent"]
CMD ["run"]
