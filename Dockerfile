# gemeng in a container: one compiled binary (the web app embedded), one data volume, no database
# server. The install guide is docs/install.md.
#
#   docker build -t gemeng .
#   docker run -d --name gemeng -p 80:80 -p 443:443 -v gemeng-data:/data \
#     -v ./gemeng.toml:/etc/gemeng/gemeng.toml:ro gemeng
#
# Mount your own config over /etc/gemeng/gemeng.toml: with a DNS name pointing at the host,
#   server_name = "chat.commune.lu"
#   data_dir = "/data"
#   [http]
#   public_base_url = "https://chat.commune.lu"
#   tls = "acme"
# serves HTTPS on 443 with a Let's Encrypt certificate (challenges on 80), the client API, the web
# app and federation on the one port. Certificates, keys and the database live in /data.
# The image's own config (packaging/docker.toml) serves plain HTTP on port 80 for a first look.
#
# Admin commands run in the container: docker exec -it gemeng gemeng user create admin --admin
# Backups: docker exec gemeng gemeng backup /data/backups/now.backup (see docs/operations.md).

# Build: Deno from npm (the only registry the build needs), the npm packages, the web app, and
# `deno task compile` (deno.json), which embeds dist/ into the binary.
FROM node:22-bookworm-slim AS build
ARG DENO_VERSION=2.9.6
RUN npm install -g "deno@${DENO_VERSION}" && deno --version
WORKDIR /src
COPY . .
RUN deno install --frozen && deno task compile && ./gemeng --help >/dev/null

# Run: the binary on Debian slim, as an unprivileged user allowed to bind ports 80 and 443.
FROM debian:bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates libcap2-bin \
  && useradd --system --home /data --shell /usr/sbin/nologin gemeng \
  && mkdir -p /data /etc/gemeng && chown gemeng:gemeng /data && chmod 700 /data
COPY --from=build /src/gemeng /usr/local/bin/gemeng
RUN setcap cap_net_bind_service=+ep /usr/local/bin/gemeng \
  && apt-get purge -y libcap2-bin && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY packaging/docker.toml /etc/gemeng/gemeng.toml
USER gemeng
VOLUME /data
EXPOSE 80 443
ENTRYPOINT ["/usr/local/bin/gemeng"]
CMD ["serve", "--config", "/etc/gemeng/gemeng.toml"]
