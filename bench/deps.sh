#!/bin/sh
# What `make bench` needs beyond `make deps`, through scripts/deps.sh (which
# keeps the packages' own services from starting):
#   docker-registry  CNCF Distribution 2.8, the server Berth is compared with
#   nginx            the machine's limits: sendfile GET and a WebDAV PUT
#                    (dav_methods is in Debian's nginx, http_dav_module)
#   gcc              for bench/loadgen (libcurl, jansson and OpenSSL headers
#                    come with `make deps`)
set -eu
exec sh "$(dirname "$0")/../scripts/deps.sh" docker-registry nginx gcc
