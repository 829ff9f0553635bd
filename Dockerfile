# The `accord` binary in a small Debian image, for examples/cluster/compose.yaml
# (`docker build -t accord:latest .`). Not built by the test suite (the
# project machine has no container runtime).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p accord

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/accord --create-home accord
COPY --from=build /src/target/release/accord /usr/local/bin/accord
USER accord
WORKDIR /var/lib/accord
EXPOSE 8470
ENTRYPOINT []
CMD ["accord", "--help"]
