# syntax=docker/dockerfile:1
# Multi-stage build: a release rspd on a slim Debian, run as a non-root user.

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin rspd

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/rspd --shell /usr/sbin/nologin rspd \
 && mkdir -p /var/lib/rspd && chown rspd:rspd /var/lib/rspd
COPY --from=build /src/target/release/rspd /usr/local/bin/rspd
ENV RSPD_DATA_DIR=/var/lib/rspd \
    RSPD_DEVICE_LISTEN=0.0.0.0:8443 \
    RSPD_OPERATOR_LISTEN=0.0.0.0:8444
VOLUME ["/var/lib/rspd"]
EXPOSE 8443 8444
USER rspd
WORKDIR /var/lib/rspd
ENTRYPOINT ["/usr/local/bin/rspd"]
CMD ["serve"]
