# gemeng in a container: one binary, one data volume, no database server.
#
#   docker build -t gemeng .
#   docker run -p 8008:8008 -p 8448:8448 -v gemeng-data:/data \
#     -v ./gemeng.toml:/etc/gemeng/gemeng.toml:ro -v ./tls:/etc/gemeng/tls:ro gemeng
#
# Federation (port 8448, HTTPS) starts when the config's [federation] section names a
# certificate and key (tls_cert, tls_key), e.g. from the mounted /etc/gemeng/tls.
#
# The image's own /etc/gemeng/gemeng.toml listens on all interfaces and keeps its data in
# /data; mount your own config over it to set server_name, public_base_url, TLS and the rest
# (every key is documented in server/config.ts, DEFAULT_CONFIG_TOML).

FROM denoland/deno:2.9.6 AS build
WORKDIR /src
COPY . .
# npm packages (the web build and the server's), then the web app and the single binary.
RUN deno install --frozen && deno task compile

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && useradd --system --home /data --shell /usr/sbin/nologin gemeng \
  && mkdir -p /data /etc/gemeng && chown gemeng /data
COPY --from=build /src/gemeng /usr/local/bin/gemeng
RUN printf '%s\n' \
  'server_name = "localhost"' \
  'data_dir = "/data"' \
  '' \
  '[http]' \
  'listen = "0.0.0.0:8008"' \
  'public_base_url = "http://localhost:8008"' \
  > /etc/gemeng/gemeng.toml
USER gemeng
VOLUME /data
EXPOSE 8008 8448
ENTRYPOINT ["/usr/local/bin/gemeng"]
CMD ["serve", "--config", "/etc/gemeng/gemeng.toml"]
