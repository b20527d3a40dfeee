# The confab binary in a small runtime image. Used by docker-compose.yml.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin confab

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/confab confab \
    && mkdir -p /var/lib/confab && chown confab /var/lib/confab
COPY --from=build /src/target/release/confab /usr/local/bin/confab
USER confab
ENV CONFAB_DATA_DIR=/var/lib/confab CONFAB_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["confab"]
CMD ["serve"]
