#!/usr/bin/env bash
# Builds the images the Docker tests use, with no registry: everything comes from this host.
#   gameday-test-web    busybox httpd on :8080 with a HEALTHCHECK, FROM scratch
#   gameday-test-netem  busybox (sh, sleep) and iproute2's tc with its libraries, FROM scratch:
#                       the helper gameday runs in a target's network namespace
#   gameday-test-notc   busybox alone (its tc applet can only show qdiscs): a helper image that
#                       cannot work, for the tests of what gameday does with one
# Needs Debian's busybox-static (/bin/busybox) and iproute2 (/sbin/tc).
set -euo pipefail
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --help 2>&1 | grep -q 'static' || busybox=$(command -v busybox || true)
if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  if ! ldd "$busybox" 2>&1 | grep -q 'not a dynamic executable'; then
    echo "build-images: a static busybox is needed (apt-get install busybox-static)" >&2
    exit 1
  fi
fi
tc=$(command -v tc || echo /sbin/tc)
[ -x "$tc" ] || { echo "build-images: tc is needed (apt-get install iproute2)" >&2; exit 1; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

mkdir -p "$ctx/web/bin"
cp "$busybox" "$ctx/web/bin/busybox"
cat > "$ctx/web/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/sh", "-c", "mkdir -p /www /tmp && echo ok > /www/index.html && dd if=/dev/zero of=/www/big bs=1024 count=256 2>/dev/null"]
EXPOSE 8080
HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD ["/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
CMD ["/bin/sh", "-c", "trap 'exit 0' TERM INT; httpd -f -p 8080 -h /www & wait"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -t gameday-test-web:latest "$ctx/web" >/dev/null

mkdir -p "$ctx/netem/bin" "$ctx/netem/sbin"
cp "$busybox" "$ctx/netem/bin/busybox"
cp "$tc" "$ctx/netem/sbin/tc"
ldd "$tc" | awk '/=> \//{print $3} /^\s*\/lib/{print $1}' | while read -r lib; do
  mkdir -p "$ctx/netem$(dirname "$lib")"
  cp -L "$lib" "$ctx/netem$lib"
done
# The dynamic loader at the path the binary asks for.
interp=$(ldd "$tc" | awk '/ld-linux/{print $1}')
mkdir -p "$ctx/netem$(dirname "$interp")"
cp -L "$interp" "$ctx/netem$interp"
cat > "$ctx/netem/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY . /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
# busybox's tc can only show qdiscs: iproute2's /sbin/tc does the work
RUN ["/bin/rm", "-f", "/bin/tc", "/Dockerfile"]
CMD ["/bin/sh"]
DOCKERFILE
rm -f "$ctx/netem/Dockerfile.bak"
DOCKER_BUILDKIT=0 docker build -q -t gameday-test-netem:latest "$ctx/netem" >/dev/null
mkdir -p "$ctx/notc/bin"
cp "$busybox" "$ctx/notc/bin/busybox"
cat > "$ctx/notc/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -t gameday-test-notc:latest "$ctx/notc" >/dev/null
echo "built gameday-test-web:latest gameday-test-netem:latest gameday-test-notc:latest"
