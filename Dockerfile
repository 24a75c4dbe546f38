# syntax=docker/dockerfile:1
# Multi-stage build: compile the wasm bundle and the server, ship a slim image.

FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-unknown-unknown \
 && cargo install wasm-bindgen-cli --version =0.2.130
WORKDIR /src
COPY . .
# Queries are checked against the committed offline data in .sqlx/.
ENV SQLX_OFFLINE=true LEPTOS_OUTPUT_NAME=mak-crm CARGO_TARGET_DIR=/src/target
RUN cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release \
      --target-dir target/front --no-default-features --features hydrate \
 && mkdir -p target/site/pkg \
 && wasm-bindgen --target web --out-name mak-crm --out-dir target/site/pkg \
      target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm \
 && mv target/site/pkg/mak-crm_bg.wasm target/site/pkg/mak-crm.wasm \
 && cp style/main.css target/site/pkg/mak-crm.css \
 && cp -r public/. target/site/ \
 && cargo build -p server --release

FROM debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /app mak
WORKDIR /app
COPY --from=build /src/target/release/mak-crm /usr/local/bin/mak-crm
COPY --from=build /src/target/site /app/site
ENV LEPTOS_SITE_ROOT=/app/site LEPTOS_OUTPUT_NAME=mak-crm HOST=0.0.0.0 PORT=3000 LOG_FORMAT=json
USER mak
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/3000"]
CMD ["mak-crm", "serve"]
